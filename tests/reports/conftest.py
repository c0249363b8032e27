"""Report fixtures: the seeded shop and browsers (own cookie jars) on the in-process app."""

from __future__ import annotations

import pytest

from tests.conftest import Factory
from tests.reports.helpers import Shop, seed_shop

# The panel tests' in-process app and browsers (fixtures found here by being imported).
from tests.web.conftest import new_browser, panel_app  # noqa: F401
from zapcrm.db import Database


@pytest.fixture
async def shop(db: Database, factory: Factory) -> Shop:
    """A company with a known week of service (tests/reports/helpers.py)."""
    return await seed_shop(db, factory)
