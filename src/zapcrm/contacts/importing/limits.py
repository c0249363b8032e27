"""The stated limits of contact imports, read at call time (`limits.X`) so tests can lower them."""

from __future__ import annotations

# An upload larger than this is refused with 413 while it streams in.
MAX_FILE_BYTES = 100 * 1024 * 1024
# Data rows (the header and blank lines do not count); more is refused with 422 at upload.
MAX_ROWS = 1_000_000
# The stdlib csv module's own default field limit; a bigger cell rejects the file at upload.
MAX_CELL_CHARS = 131_072
# What the request body limit middleware must allow on the upload route (multipart overhead).
UPLOAD_BODY_LIMIT_BYTES = MAX_FILE_BYTES + 1024 * 1024
# Rows shown in the preview, and how much of each cell.
PREVIEW_ROWS = 10
PREVIEW_CELL_CHARS = 200
# Rows per staging COPY and per transaction: memory is bounded by this, not by the file.
CHUNK_ROWS = 20_000
# Transactions applying one chunk at once (rows split by phone); 1 turns parallelism off.
IMPORT_LANES = 2
# Contacts per `POST /api/contacts/bulk` request.
BULK_MAX_CONTACTS = 1_000
# Field limits mirrored from the contacts table's check constraints.
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 320
MAX_SOURCE_CHARS = 100
MAX_TAG_CHARS = 100
MAX_TAGS = 50
