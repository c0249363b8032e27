"""The statements every webhook and every send runs stay inside psycopg's parse cache.

psycopg converts a query's `%(name)s` placeholders with a cached function only when the query
is at most `MAX_CACHED_STATEMENT_LENGTH` bytes (and has at most 50 parameters); a longer one is
parsed again in Python on every execution. The store-message statement crept over it once
unnoticed (4,133 bytes): this keeps it from happening again.
"""

from __future__ import annotations

import pytest
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS
from sqlalchemy import TextClause

from zapcrm.db import _driver_sql
from zapcrm.messaging.repository import ingest, outbound

HOT_STATEMENTS = {
    "store_message": ingest._STORE_MESSAGE,
    "queue_message": outbound._QUEUE_MESSAGE,
    "queue_aside": outbound._QUEUE_ASIDE,
    "queue_text": outbound._QUEUE_TEXT,
}


@pytest.mark.parametrize("name", sorted(HOT_STATEMENTS))
def test_a_hot_statement_fits_psycopgs_parse_cache(name: str) -> None:
    statement: TextClause = HOT_STATEMENTS[name]
    sql = _driver_sql(statement.text)
    assert len(sql.encode()) <= MAX_CACHED_STATEMENT_LENGTH
    assert len(statement._bindparams) <= MAX_CACHED_STATEMENT_PARAMS
