"""A calendar shows the same future instants that completing a recurring task
creates: ical.js (Thunderbird's parser, under Node) expands the feed's RRULE
from its DTSTART;TZID and VTIMEZONE, and the API's completions, followed ten
times, give the same ten due dates, across a daylight-saving change."""

import pytest

from tests.support.calendars import create_feed, events, fetch, icaljs, parsed, uid


def completed_due_dates(user, task: dict, times: int) -> list[str]:
    """The due dates of `task` and of the occurrences its completions create."""
    dates = [task["due_date"]]
    for _ in range(times - 1):
        response = user.patch(f"/tasks/{task['id']}/complete", json={"completed": True})
        assert response.status_code == 200, response.get_json()
        task = user.get(f"/tasks/{response.get_json()['next_task_id']}").get_json()
        dates.append(task["due_date"])
    return dates


def iso_z(text: str) -> str:
    """RFC 3339 with Z, to the second: the API's and ical.js's forms compared."""
    return text.replace(".000Z", "Z").replace("+00:00", "Z")


@pytest.mark.parametrize(
    "recurrence, due_date",
    [
        # 09:00 in Berlin: 08:00Z before 2027-03-28, 07:00Z after
        ({"rule": "FREQ=DAILY", "timezone": "Europe/Berlin"}, "2027-03-24T08:00:00Z"),
        # the 31st: months without one are skipped; 18:30 in New York across
        # both of its changes
        (
            {"rule": "FREQ=MONTHLY;BYMONTHDAY=31", "timezone": "America/New_York"},
            "2027-01-31T23:30:00Z",
        ),
        (
            {"rule": "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=12", "timezone": "Europe/Berlin"},
            "2027-10-21T07:15:00Z",
        ),
        (
            {
                "rule": "FREQ=DAILY;INTERVAL=3;UNTIL=20280131",
                "timezone": "Australia/Sydney",
            },
            "2027-12-31T22:00:00Z",
        ),
    ],
    ids=["daily-berlin", "monthly-31st", "weekly-count", "until-date"],
)
def test_icaljs_expands_the_instants_completion_creates(
    client, alice, recurrence, due_date
):
    task = alice.create(title="Again", due_date=due_date, recurrence=recurrence)
    document = fetch(client, create_feed(alice)).data
    event = events(parsed(fetch(client, create_feed(alice))))[uid(task)]
    assert event["DTSTART"].params["TZID"] == recurrence["timezone"]
    read = icaljs(document, 10)
    [expanded] = read["events"]

    api = completed_due_dates(alice, task, 10)

    assert [iso_z(d) for d in expanded["occurrences"]] == [iso_z(d) for d in api]


def test_the_daily_berlin_task_keeps_9_oclock_across_the_change(client, alice):
    recurrence = {"rule": "FREQ=DAILY", "timezone": "Europe/Berlin"}
    task = alice.create(
        title="Standup", due_date="2027-03-24T08:00:00Z", recurrence=recurrence
    )
    [expanded] = icaljs(fetch(client, create_feed(alice)).data, 10)["events"]
    assert expanded["occurrences"][:5] == [
        "2027-03-24T08:00:00.000Z",
        "2027-03-25T08:00:00.000Z",
        "2027-03-26T08:00:00.000Z",
        "2027-03-27T08:00:00.000Z",
        "2027-03-28T07:00:00.000Z",
    ]
    assert (
        b"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
        in fetch(client, create_feed(alice)).data
    )
    assert task["recurrence"]["rule"] == "FREQ=DAILY"


def test_a_task_counted_from_completion_is_a_single_event(client, alice):
    task = alice.create(
        title="Water the plants",
        due_date="2027-03-24T08:00:00Z",
        recurrence={
            "rule": "FREQ=WEEKLY",
            "timezone": "Europe/Berlin",
            "from": "completion",
        },
    )
    document = fetch(client, create_feed(alice)).data
    event = events(parsed(fetch(client, create_feed(alice))))[uid(task)]
    assert "RRULE" not in event
    [expanded] = icaljs(document, 10)["events"]
    assert expanded["occurrences"] == ["2027-03-24T08:00:00.000Z"]


def test_a_before_reminder_of_a_recurring_task_is_relative(client, alice):
    task = alice.create(
        title="Standup",
        due_date="2027-03-24T08:00:00Z",
        recurrence={"rule": "FREQ=DAILY", "timezone": "Europe/Berlin"},
        reminders=[{"before": "PT10M"}],
    )
    event = events(parsed(fetch(client, create_feed(alice))))[uid(task)]
    [alarm] = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].to_ical() == b"-PT10M"
