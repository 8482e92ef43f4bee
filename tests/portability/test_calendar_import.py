"""Bringing tasks in from other apps: iCalendar files of VTODOs as Apple
Reminders, Thunderbird, Nextcloud Tasks and tasks.org write them."""

from pathlib import Path

import pytest

from taskapi.portability.vtodo import priority
from tests.support.portability import export, import_calendar
from tests.support.responses import assert_error

FILES = Path(__file__).parent / "files"


def imported(user, name: str) -> dict:
    """Import a fixture; the user's tasks by title, and their lists by id."""
    response = import_calendar(user, (FILES / name).read_bytes())
    assert response.status_code == 200, response.get_json()
    document = export(user)
    return {t["title"]: t for t in document["tasks"]}, {
        li["id"]: li["name"] for li in document["lists"]
    }


def test_apple_reminders_list_becomes_a_list(users_on):
    erin = users_on("erin")
    tasks, lists = imported(erin, "apple-reminders.ics")
    assert sorted(lists.values()) == ["Groceries"]
    milk = tasks["Oat milk"]
    assert lists[milk["list_id"]] == "Groceries"
    assert milk["priority"] == "urgent"
    assert milk["description"] == "The barista one"
    assert milk["due_date"] == "2026-12-05T08:00:00Z"  # 09:00 in Berlin
    coffee = tasks["Coffee beans"]
    assert coffee["completed"] is True and coffee["status"] == "completed"
    assert coffee["completed_at"] == "2026-11-30T17:12:00Z"
    decaf = tasks["Decaf for guests"]
    assert decaf["parent_id"] == coffee["id"] and decaf["priority"] == "low"
    weekly = tasks["Weekly shop"]
    assert weekly["priority"] == "medium"
    assert weekly["recurrence"] == {
        "rule": "FREQ=WEEKLY;INTERVAL=1",
        "timezone": "Europe/Berlin",
        "from": "due",
    }
    assert weekly["series_id"] == weekly["id"]


def test_thunderbird_tasks_land_in_the_inbox(users_on):
    finn = users_on("finn")
    tasks, lists = imported(finn, "thunderbird.ics")
    assert lists == {}
    report = tasks["Quarterly report"]
    assert report["status"] == "in_progress" and report["priority"] == "high"
    assert report["tags"] == ["work", "finance"]
    assert report["due_date"] == "2026-12-03T22:00:00Z"  # 17:00 in New York
    assert (
        report["description"] == "Numbers from Q3, charts from marketing.\nSend to Ann."
    )
    # RELATED-TO without RELTYPE is a parent (RFC 5545's default)
    assert tasks["Collect the figures"]["parent_id"] == report["id"]
    passport = tasks["Renew passport"]
    assert passport["due_date"] == "2027-01-15T12:00:00Z"
    assert passport["priority"] == "low"


def test_nextcloud_dates_without_time_and_completed_subtasks(users_on):
    gwen = users_on("gwen")
    tasks, lists = imported(gwen, "nextcloud-tasks.ics")
    assert sorted(lists.values()) == ["Household"]
    kettle = tasks["Descale the kettle"]
    assert kettle["due_date"] == "2026-12-10T00:00:00Z"
    assert kettle["recurrence"]["rule"] == "FREQ=MONTHLY;BYMONTHDAY=10"
    assert kettle["tags"] == ["kitchen"]
    cleaning = tasks["Spring cleaning"]
    assert cleaning["priority"] == "high" and cleaning["completed"] is True
    assert tasks["Windows"]["parent_id"] == cleaning["id"]
    assert tasks["Windows"]["completed"] is True


def test_tasks_org_recurring_and_date_only(users_on):
    hana = users_on("hana")
    tasks, _lists = imported(hana, "tasks-org.ics")
    plants = tasks["Water the plants"]
    assert plants["recurrence"]["rule"] == "FREQ=DAILY;INTERVAL=3"
    assert plants["recurrence"]["timezone"] == "Europe/London"
    rent = tasks["Pay rent"]
    assert rent["due_date"] == "2026-12-01T00:00:00Z"
    assert rent["completed"] is True and rent["tags"] == ["money"]


def test_a_rule_outside_the_contract_names_the_vtodo_and_imports_nothing(alice):
    body = (FILES / "tasks-org-hourly.ics").read_bytes()
    refused = assert_error(import_calendar(alice, body), 422)
    [(uid, errors)] = refused["errors"]["json"]["tasks"].items()
    assert uid == "4561237781625419999"
    assert list(errors) == ["recurrence"]
    assert export(alice)["tasks"] == []


@pytest.mark.parametrize(
    "body",
    [b"Milk\nEggs\n", b"BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n", b"\xff\xfe"],
    ids=["plain-text", "not-a-vcalendar", "binary"],
)
def test_what_is_not_a_calendar_is_422(alice, body):
    refused = assert_error(import_calendar(alice, body), 422)
    assert "calendar" in refused["errors"]["body"]
    assert export(alice)["tasks"] == []


def test_a_calendar_of_events_only_is_422(alice):
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        b"DTSTART:20261201T090000Z\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    refused = assert_error(import_calendar(alice, body), 422)
    assert refused["errors"]["body"]["calendar"] == [
        "The calendar holds no VTODO (no tasks to import)."
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, "urgent"), (2, "high"), (4, "high"), (5, "medium"), (6, "low"),
     (9, "low"), (0, "medium"), (None, "medium")],
)  # fmt: skip
def test_priorities_map_as_rfc_5545_ranks_them(value, expected):
    assert priority(value) == expected


def one_vtodo(*lines: str) -> bytes:
    body = "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hand//EN", "BEGIN:VTODO",
         "UID:hand-1", "SUMMARY:First", *lines, "END:VTODO", "END:VCALENDAR", ""]
    )  # fmt: skip
    return body.encode()


def test_what_clients_write_twice_or_empty_is_read_as_users_would_expect(alice):
    body = one_vtodo(
        "SUMMARY:Second",
        "DUE:20261201T090000Z",
        "DUE:20261202T090000Z",
        "CATEGORIES:",
        "RELATED-TO:",
    )
    assert import_calendar(alice, body).status_code == 200
    [task] = export(alice)["tasks"]
    assert task["title"] == "First"
    assert task["due_date"] == "2026-12-01T09:00:00Z"
    assert task["tags"] == [] and task["parent_id"] is None


def test_a_broken_property_is_a_422_saying_what_broke(alice):
    refused = assert_error(import_calendar(alice, one_vtodo("DUE:tomorrow")), 422)
    [message] = refused["errors"]["body"]["calendar"]
    assert "tomorrow" in message
    refused = assert_error(import_calendar(alice, one_vtodo("RRULE:garbage")), 422)
    assert list(refused["errors"]["json"]["tasks"]) == ["hand-1"]
    assert export(alice)["tasks"] == []
