"""Finding contacts: search box, filters, keyset pages, segments, bulk tags, CSV export."""
