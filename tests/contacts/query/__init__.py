"""Tests of contact search, filters, segments, bulk tags and export."""
