"""The quick add tests' clock: "now" is whatever the test says (app.extensions's
CLOCK, which the app reads for "today"), never the real date."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from taskapi.core.columns import CLOCK


@pytest.fixture
def clock(app):
    """`clock("America/New_York", "2026-03-05T10:00")`: the app's now is that
    local wall-clock time; the clock is taken away after the test."""

    def set_to(zone: str, local: str) -> datetime:
        now = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))
        now = now.astimezone(timezone.utc)
        app.extensions[CLOCK] = lambda: now
        return now

    yield set_to
    app.extensions.pop(CLOCK, None)
