"""Recurring tasks through the API: completing one creates its next occurrence, in
the task's time zone on wall-clock time; reopening it takes that back.

The instants below are written out as a calendar expert would check them: each
row is (rule, time zone, first due date, the due dates of the next occurrences
that completing each one in turn must create)."""

import functools
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.responses import assert_error

SCHEDULES = {
    "daily 09:00 Berlin across the March change": (
        "FREQ=DAILY",
        "Europe/Berlin",
        "2026-03-27T08:00:00Z",  # 09:00 CET
        ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"],
    ),
    "daily 09:00 Berlin across the October change": (
        "FREQ=DAILY",
        "Europe/Berlin",
        "2026-10-24T07:00:00Z",  # 09:00 CEST
        ["2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"],
    ),
    "daily 09:00 New York across its March change": (
        "FREQ=DAILY",
        "America/New_York",
        "2026-03-07T14:00:00Z",  # 09:00 EST
        ["2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"],
    ),
    "daily 09:00 New York across its November change": (
        "FREQ=DAILY",
        "America/New_York",
        "2026-10-31T13:00:00Z",  # 09:00 EDT
        ["2026-11-01T14:00:00Z", "2026-11-02T14:00:00Z"],
    ),
    "02:30 Berlin on the night 02:00-03:00 is skipped": (
        "FREQ=DAILY",
        "Europe/Berlin",
        "2026-03-28T01:30:00Z",  # 02:30 CET
        # 02:30 does not exist on the 29th: 03:30 CEST; the day after, 02:30 again
        ["2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"],
    ),
    "BYMONTHDAY=31 skips the shorter months": (
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "UTC",
        "2026-01-31T10:00:00Z",
        ["2026-03-31T10:00:00Z", "2026-05-31T10:00:00Z", "2026-07-31T10:00:00Z"],
    ),
    "BYMONTHDAY=-1 is the last day": (
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "UTC",
        "2026-01-31T10:00:00Z",
        ["2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z", "2026-04-30T10:00:00Z"],
    ),
    "the last Friday of the month": (
        "FREQ=MONTHLY;BYDAY=-1FR",
        "Europe/Berlin",
        "2026-01-30T17:00:00Z",  # 18:00 CET
        ["2026-02-27T17:00:00Z", "2026-03-27T17:00:00Z", "2026-04-24T16:00:00Z"],
    ),
    "every weekday": (
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "UTC",
        "2026-12-04T08:00:00Z",  # a Friday
        ["2026-12-07T08:00:00Z", "2026-12-08T08:00:00Z"],
    ),
    "every 2 weeks on Monday and Thursday": (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "UTC",
        "2026-12-07T08:00:00Z",  # a Monday
        ["2026-12-10T08:00:00Z", "2026-12-21T08:00:00Z", "2026-12-24T08:00:00Z"],
    ),
    "yearly on February 29": (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "UTC",
        "2028-02-29T12:00:00Z",
        ["2032-02-29T12:00:00Z", "2036-02-29T12:00:00Z"],
    ),
    "COUNT=3 runs out after the third": (
        "FREQ=DAILY;COUNT=3",
        "UTC",
        "2026-12-01T09:00:00Z",
        ["2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z", None],
    ),
    "UNTIL passed": (
        "FREQ=DAILY;UNTIL=20261203T000000Z",
        "UTC",
        "2026-12-01T09:00:00Z",
        ["2026-12-02T09:00:00Z", None],
    ),
}


def recurring(user, rule="FREQ=DAILY", tz="UTC", due="2026-12-01T09:00:00Z", **more):
    recurrence = {"rule": rule, "timezone": tz, **more.pop("recurrence", {})}
    return user.create(
        title="Water the plants", due_date=due, recurrence=recurrence, **more
    )


def complete(user, task_id, how="toggle"):
    """Complete a task by one of the routes that can."""
    request = {
        "toggle": lambda: user.patch(f"/tasks/{task_id}/complete"),
        "set": lambda: user.patch(
            f"/tasks/{task_id}/complete", json={"completed": True}
        ),
        "put status": lambda: user.put(
            f"/tasks/{task_id}", json={"status": "completed"}
        ),
        "patch completed": lambda: user.patch(
            f"/tasks/{task_id}", json={"completed": True}
        ),
    }[how]
    response = request()
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def series(user, task, query=""):
    response = user.get(f"/tasks?series_id={task['series_id']}&per_page=100{query}")
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_completion_creates_the_next_occurrence_on_wall_clock_time(alice, name):
    rule, tz, first, expected = SCHEDULES[name]
    task = recurring(alice, rule, tz, first)
    seen = []
    for _ in expected:
        done = complete(alice, task["id"])
        if done["next_task_id"] is None:
            seen.append(None)
            break
        task = alice.get(f"/tasks/{done['next_task_id']}").get_json()
        seen.append(task["due_date"])
    assert seen == expected


@pytest.mark.parametrize("how", ["toggle", "set", "put status", "patch completed"])
def test_every_route_that_completes_creates_exactly_one_next(users_on, how):
    alice = users_on("alice")
    task = recurring(alice)
    done = complete(alice, task["id"], how)
    assert done["status"] == "completed" and done["next_task_id"]
    assert len(series(alice, task)) == 2
    # completing it again (set, not toggle) creates nothing more
    again = alice.patch(f"/tasks/{task['id']}/complete", json={"completed": True})
    assert again.get_json()["next_task_id"] == done["next_task_id"]
    assert len(series(alice, task)) == 2


def test_the_next_occurrence_copies_what_the_contract_says_and_nothing_more(alice):
    garden = alice.create_list("Garden")
    task = recurring(
        alice,
        "FREQ=WEEKLY;COUNT=5",
        "Europe/Berlin",
        "2026-12-07T08:00:00Z",
        description="All of them",
        priority="high",
        tags=["home"],
        list_id=garden["id"],
        reminders=[{"before": "PT1H"}, {"at": "2026-12-06T18:00:00Z"}],
    )
    after_it = alice.create(title="Next sibling", list_id=garden["id"])
    step = alice.create(title="Fetch the can", parent_id=task["id"])
    alice.patch(f"/tasks/{step['id']}/complete")
    gone = alice.create(title="Deleted step", parent_id=task["id"])
    alice.delete(f"/tasks/{gone['id']}")

    done = complete(alice, task["id"])
    following = alice.get(f"/tasks/{done['next_task_id']}").get_json()

    copied = ("title", "description", "priority", "tags", "list_id")
    assert {k: following[k] for k in copied} == {k: task[k] for k in copied}
    assert following["status"] == "pending" and following["completed_at"] is None
    assert following["due_date"] == "2026-12-14T08:00:00Z"
    assert following["recurrence"] == {
        "rule": "FREQ=WEEKLY;COUNT=4",
        "timezone": "Europe/Berlin",
        "from": "due",
    }
    # `before` reminders, from the new due date; no `at` ones
    assert following["reminders"] == [
        {"before": "PT1H", "remind_at": "2026-12-14T07:00:00Z"}
    ]
    assert following["series_id"] == task["id"] == task["series_id"]
    assert following["next_task_id"] is None and following["parent_id"] is None
    # right after it in the order
    ordered = alice.get(f"/tasks?list_id={garden['id']}&parent_id=none&sort=position")
    assert [t["id"] for t in ordered.get_json()] == [
        task["id"],
        following["id"],
        after_it["id"],
    ]
    # its live subtasks copied, all pending; the deleted one not
    steps = alice.get(f"/tasks?parent_id={following['id']}").get_json()
    assert [(s["title"], s["status"]) for s in steps] == [("Fetch the can", "pending")]
    # the completed occurrence keeps its own subtask as it was
    assert alice.get(f"/tasks/{step['id']}").get_json()["status"] == "completed"


def test_from_completion_counts_from_the_moment_it_was_completed(alice):
    late = recurring(
        alice, "FREQ=DAILY", "UTC", "2026-01-01T09:00:00Z",
        recurrence={"from": "completion"},
    )  # fmt: skip
    early = recurring(
        alice, "FREQ=DAILY", "UTC", "2099-06-01T09:00:00Z",
        recurrence={"from": "completion"},
    )  # fmt: skip
    for task in (late, early):
        done = complete(alice, task["id"])
        completed_at = datetime.fromisoformat(done["completed_at"])
        # 09:00 UTC the day after the completion's date, whatever the old due date and
        # whatever the hour it was completed (test_recurrence_rules pins the early case)
        expected = completed_at.replace(hour=9, minute=0, second=0, microsecond=0)
        expected += timedelta(days=1)
        following = alice.get(f"/tasks/{done['next_task_id']}").get_json()
        assert following["due_date"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_accidental_double_toggle_leaves_one_open_task(alice):
    task = recurring(alice)
    complete(alice, task["id"])
    reopened = complete(alice, task["id"])  # the second toggle reopens it
    assert reopened["status"] == "pending" and reopened["next_task_id"] is None
    assert [t["id"] for t in series(alice, task)] == [task["id"]]


def test_reopening_keeps_a_next_occurrence_that_was_changed(alice):
    task = recurring(alice)
    done = complete(alice, task["id"])
    alice.patch(f"/tasks/{done['next_task_id']}", json={"title": "Moved to Friday"})
    reopened = alice.patch(f"/tasks/{task['id']}", json={"completed": False}).get_json()
    assert reopened["status"] == "pending"
    assert reopened["next_task_id"] == done["next_task_id"]  # still its next
    assert alice.get(f"/tasks/{done['next_task_id']}").status_code == 200
    # completing it again does not make a second next occurrence
    complete(alice, task["id"], "set")
    assert len(series(alice, task)) == 2


def test_reopening_removes_an_untouched_next_with_its_copied_subtasks(alice):
    task = recurring(alice)
    alice.create(title="Step", parent_id=task["id"])
    done = complete(alice, task["id"])
    copies = alice.get(f"/tasks?parent_id={done['next_task_id']}").get_json()
    assert len(copies) == 1
    alice.put(f"/tasks/{task['id']}", json={"status": "in_progress"})
    assert alice.get(f"/tasks/{done['next_task_id']}").status_code == 404
    assert alice.get(f"/tasks/{copies[0]['id']}").status_code == 404


def test_series_id_and_next_task_id_are_read_only_and_null_without_recurrence(alice):
    plain = alice.create(title="Once")
    assert plain["recurrence"] is None and plain["series_id"] is None
    done = complete(alice, plain["id"])
    assert done["next_task_id"] is None
    for field in ("series_id", "next_task_id"):
        body = assert_error(alice.put(f"/tasks/{plain['id']}", json={field: None}), 422)
        assert field in body["errors"]["json"]
        body = assert_error(alice.post("/tasks", json={"title": "x", field: None}), 422)
        assert field in body["errors"]["json"]
    # giving a task a recurrence starts its series; taking it away ends it
    made = alice.put(
        f"/tasks/{plain['id']}",
        json={
            "due_date": "2026-12-24T18:00:00Z",
            "recurrence": {"rule": "FREQ=YEARLY"},
        },
    ).get_json()
    assert made["series_id"] == plain["id"]
    assert made["recurrence"] == {
        "rule": "FREQ=YEARLY",
        "timezone": "UTC",
        "from": "due",
    }
    same = alice.put(f"/tasks/{plain['id']}", json={"recurrence": made["recurrence"]})
    assert same.get_json()["updated_at"] == made["updated_at"]  # no change
    ended = alice.put(f"/tasks/{plain['id']}", json={"recurrence": None}).get_json()
    assert ended["recurrence"] is None and ended["series_id"] is None


BAD_RECURRENCES = [
    ({"rule": "FREQ=HOURLY"}, "recurrence"),
    ({"rule": "FREQ=DAILY;BYHOUR=9"}, "recurrence"),
    ({"rule": "DTSTART:20260101T000000Z"}, "recurrence"),
    ({"rule": "FREQ=DAILY;INTERVAL=0"}, "recurrence"),
    ({"rule": "not a rule"}, "recurrence"),
    ({"rule": "FREQ=DAILY", "timezone": "Mars/Olympus"}, "recurrence"),
    ({"rule": "FREQ=DAILY", "from": "tomorrow"}, "recurrence"),
    ({"rule": "FREQ=DAILY", "extra": 1}, "recurrence"),
    ({}, "recurrence"),
    ("FREQ=DAILY", "recurrence"),
]


@pytest.mark.parametrize(("recurrence", "field"), BAD_RECURRENCES)
def test_bad_recurrences_are_422_on_recurrence_and_change_nothing(
    alice, recurrence, field
):
    task = alice.create(title="Plain", due_date="2026-12-01T09:00:00Z")
    body = {
        "title": "New",
        "due_date": "2026-12-01T09:00:00Z",
        "recurrence": recurrence,
    }
    assert field in assert_error(alice.post("/tasks", json=body), 422)["errors"]["json"]
    changed = alice.put(f"/tasks/{task['id']}", json={"recurrence": recurrence})
    assert field in assert_error(changed, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task
    assert len(alice.get("/tasks").get_json()) == 1


def test_a_recurring_task_needs_a_due_date_and_subtasks_cannot_recur(alice):
    rule = {"rule": "FREQ=DAILY"}
    body = assert_error(
        alice.post("/tasks", json={"title": "x", "recurrence": rule}), 422
    )
    assert body["errors"]["json"]["recurrence"] == [
        "A recurring task needs a due_date."
    ]
    task = recurring(alice)
    body = assert_error(alice.put(f"/tasks/{task['id']}", json={"due_date": None}), 422)
    assert "recurrence" in body["errors"]["json"]
    parent = alice.create(title="Parent")
    sub = {"title": "s", "parent_id": parent["id"], "due_date": task["due_date"]}
    body = assert_error(alice.post("/tasks", json={**sub, "recurrence": rule}), 422)
    assert body["errors"]["json"]["recurrence"] == ["A subtask cannot recur."]
    # a recurring task cannot become a subtask
    moved = alice.put(f"/tasks/{task['id']}", json={"parent_id": parent["id"]})
    assert "recurrence" in assert_error(moved, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


def test_another_users_recurring_task_cannot_be_completed_or_seen(alice, bob):
    task = recurring(alice)
    assert_error(bob.patch(f"/tasks/{task['id']}/complete"), 404)
    assert bob.get(f"/tasks?series_id={task['series_id']}").get_json() == []
    assert alice.get(f"/tasks/{task['id']}").get_json()["status"] == "pending"


@pytest.mark.postgres_only
def test_two_clients_completing_at_once_make_one_next_occurrence(live_server, race):
    alice = live_server.user("alice")
    for _ in range(3):
        task = alice.request(
            "POST",
            "/tasks",
            json={
                "title": "Daily",
                "due_date": "2026-12-01T09:00:00Z",
                "recurrence": {"rule": "FREQ=DAILY"},
            },
        ).get_json()
        done = functools.partial(
            alice.request,
            "PATCH",
            f"/tasks/{task['id']}/complete",
            json={"completed": True},
        )
        responses = race([done] * 6)
        assert {r.status_code for r in responses} == {200}
        nexts = {r.get_json()["next_task_id"] for r in responses}
        assert len(nexts) == 1 and None not in nexts
        listed = alice.request("GET", f"/tasks?series_id={task['id']}").get_json()
        assert len(listed) == 2


def test_the_due_date_instants_are_utc_whatever_the_offset_given(alice):
    task = recurring(alice, "FREQ=DAILY", "Europe/Berlin", "2026-03-28T09:00:00+01:00")
    assert task["due_date"] == "2026-03-28T08:00:00Z"
    done = complete(alice, task["id"])
    following = alice.get(f"/tasks/{done['next_task_id']}").get_json()
    assert following["due_date"] == "2026-03-29T07:00:00Z"
    local = datetime.fromisoformat(following["due_date"]).astimezone(
        timezone(timedelta(hours=2))
    )
    assert local.hour == 9
