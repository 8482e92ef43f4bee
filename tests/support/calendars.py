"""Calendar feeds as subscribers read them: created through the API, fetched
without a token, parsed by Python's icalendar and by ical.js under Node
(tests/calendars/icaljs/expand.mjs)."""

import json
import subprocess
from urllib.parse import urlsplit

from icalendar import Calendar

from tests.support.environment import ROOT

ICALJS = ROOT / "tests" / "calendars" / "icaljs"


def create_feed(user, list_id=None) -> dict:
    response = user.post("/calendar-feeds", json={"list_id": list_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def feed_path(feed: dict) -> str:
    """The path of a feed's URL, for the test client."""
    return urlsplit(feed["url"]).path


def fetch(client, feed: dict, **headers):
    return client.get(feed_path(feed), headers=headers)


def parsed(response) -> Calendar:
    """The document, as Python's icalendar reads it."""
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.data)


def events(calendar: Calendar) -> dict:
    """The VEVENTs by UID."""
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def uid(task: dict) -> str:
    return f"{task['id']}@taskapi"


def icaljs(document: bytes, occurrences: int = 10) -> dict:
    """ical.js's reading: {"name", "events": [{"uid", "summary", "description",
    "categories", "sequence", "alarms", "occurrences"}]}."""
    done = subprocess.run(
        ["node", str(ICALJS / "expand.mjs"), str(occurrences)],
        input=document,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)
