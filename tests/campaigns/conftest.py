"""Campaign fixtures: the messaging tests' company on the simulated gateway, and the panel
tests' in-process app and browsers."""

from __future__ import annotations

# Every campaign test leaves no campaign sending behind (see the fixture).
from tests.campaigns.helpers import campaigns_end_with_the_test  # noqa: F401

# Found here by being imported: a company owning the simulator's connected instance...
from tests.messaging.conftest import gateway  # noqa: F401

# ...and browsers (own cookie jars) on the in-process panel app.
from tests.web.conftest import new_browser, panel_app  # noqa: F401
