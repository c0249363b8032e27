"""Departments fixtures: the messaging tests' company on the simulated gateway."""

from __future__ import annotations

# Found here by being imported: a company owning the simulator's connected instance.
from tests.messaging.conftest import gateway  # noqa: F401
