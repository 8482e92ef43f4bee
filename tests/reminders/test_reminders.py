"""Reminders: each gets its remind_at on write, stored and indexed, and GET
/reminders lists those due in a window from the user's open tasks."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from taskapi.core.db import get_engine
from tests.support.bulk import run_unbounded
from tests.support.responses import assert_error
from tests.support.sql import explain_last_statement, plan_nodes
from tests.support.users import bearer, make_token

DUE = "2026-12-10T09:00:00Z"


def window(user, after, before=None):
    query = f"after={after}" + (f"&before={before}" if before else "")
    response = user.get(f"/reminders?{query}")
    assert response.status_code == 200, response.get_json()
    return [(r["title"], r["remind_at"]) for r in response.get_json()]


def test_reminders_get_their_instants_sorted_and_merged(users_on):
    alice = users_on("alice")
    task = alice.create(
        title="Call mum",
        due_date=DUE,
        reminders=[
            {"before": "P1D"},
            {"at": "2026-12-10T09:45:00+01:00"},  # 08:45Z, the same as PT15M
            {"before": "pt15m"},
            {"before": "P1W"},
        ],
    )
    assert task["reminders"] == [
        {"before": "P1W", "remind_at": "2026-12-03T09:00:00Z"},
        {"before": "P1D", "remind_at": "2026-12-09T09:00:00Z"},
        {"at": "2026-12-10T08:45:00Z", "remind_at": "2026-12-10T08:45:00Z"},
    ]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


def test_the_window_is_after_inclusive_before_exclusive(users_on):
    alice = users_on("alice")
    alice.create(title="A", due_date=DUE, reminders=[{"before": "PT1H"}])  # 08:00
    alice.create(title="B", due_date=DUE, reminders=[{"before": "PT0M"}])  # 09:00
    alice.create(title="C", reminders=[{"at": "2026-12-10T08:30:00Z"}])
    assert window(alice, "2026-12-10T08:00:00Z", "2026-12-10T09:00:00Z") == [
        ("A", "2026-12-10T08:00:00Z"),
        ("C", "2026-12-10T08:30:00Z"),
    ]
    assert window(alice, "2026-12-10T08:00:01Z", "2026-12-10T09:00:01Z") == [
        ("C", "2026-12-10T08:30:00Z"),
        ("B", "2026-12-10T09:00:00Z"),
    ]
    # the default window: 24 hours from `after`
    assert len(window(alice, "2026-12-09T09:00:00Z")) == 2  # B is at the end
    assert len(window(alice, "2026-12-09T09:00:01Z")) == 3
    assert window(alice, "2026-12-10T09:00:01Z") == []


def test_the_default_window_is_the_next_24_hours(alice):
    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    later = datetime.now(timezone.utc) + timedelta(hours=25)
    alice.create(title="Soon", reminders=[{"at": soon.isoformat()}])
    alice.create(title="Later", reminders=[{"at": later.isoformat()}])
    listed = alice.get("/reminders").get_json()
    assert [r["title"] for r in listed] == ["Soon"]
    assert set(listed[0]) == {"task_id", "title", "due_date", "remind_at"}


def test_completed_and_deleted_tasks_remind_of_nothing(alice):
    done = alice.create(title="Done", due_date=DUE, reminders=[{"before": "PT1H"}])
    gone = alice.create(title="Gone", due_date=DUE, reminders=[{"before": "PT1H"}])
    alice.create(title="Open", due_date=DUE, reminders=[{"before": "PT1H"}])
    alice.patch(f"/tasks/{done['id']}/complete")
    alice.delete(f"/tasks/{gone['id']}")
    assert window(alice, "2026-12-10T00:00:00Z") == [("Open", "2026-12-10T08:00:00Z")]
    alice.patch(f"/tasks/{done['id']}/complete")  # reopened: it reminds again
    assert len(window(alice, "2026-12-10T00:00:00Z")) == 2


def test_moving_the_due_date_moves_before_reminders_not_at_ones(alice):
    task = alice.create(
        title="Dentist",
        due_date=DUE,
        reminders=[{"before": "PT2H"}, {"at": "2026-12-01T12:00:00Z"}],
    )
    moved = alice.patch(
        f"/tasks/{task['id']}", json={"due_date": "2026-12-11T09:00:00Z"}
    ).get_json()
    assert moved["reminders"] == [
        {"at": "2026-12-01T12:00:00Z", "remind_at": "2026-12-01T12:00:00Z"},
        {"before": "PT2H", "remind_at": "2026-12-11T07:00:00Z"},
    ]
    assert window(alice, "2026-12-10T00:00:00Z") == []
    assert window(alice, "2026-12-11T00:00:00Z") == [
        ("Dentist", "2026-12-11T07:00:00Z")
    ]
    cleared = alice.put(f"/tasks/{task['id']}", json={"reminders": None}).get_json()
    assert cleared["reminders"] == []
    assert window(alice, "2026-11-30T00:00:00Z", "2026-12-20T00:00:00Z") == []


def test_the_same_reminders_again_are_no_change(alice):
    task = alice.create(title="T", due_date=DUE, reminders=[{"before": "PT1H"}])
    again = alice.put(f"/tasks/{task['id']}", json={"reminders": [{"before": "pt1h"}]})
    assert again.get_json()["updated_at"] == task["updated_at"]
    assert again.headers["ETag"] == alice.get(f"/tasks/{task['id']}").headers["ETag"]


BAD_REMINDERS = [
    [{"before": "PT15M"}] * 2 + [{"before": f"PT{n}M"} for n in range(1, 5)],  # 6
    [{"before": "P31D"}],
    [{"before": "-PT15M"}],
    [{"before": "PT1.5H"}],
    [{"before": "P1Y"}],
    [{"before": "PT15M", "at": DUE}],
    [{}],
    [{"at": "tomorrow"}],
    [{"when": "PT15M"}],
    ["PT15M"],
    {"before": "PT15M"},
]


@pytest.mark.parametrize("reminders", BAD_REMINDERS)
def test_bad_reminders_are_422_on_reminders_and_change_nothing(alice, reminders):
    task = alice.create(title="T", due_date=DUE)
    body = {"title": "New", "due_date": DUE, "reminders": reminders}
    assert (
        "reminders"
        in assert_error(alice.post("/tasks", json=body), 422)["errors"]["json"]
    )
    changed = alice.put(f"/tasks/{task['id']}", json={"reminders": reminders})
    assert "reminders" in assert_error(changed, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task
    assert window(alice, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z") == []


def test_a_before_reminder_needs_a_due_date(alice):
    body = {"title": "T", "reminders": [{"before": "PT15M"}]}
    errors = assert_error(alice.post("/tasks", json=body), 422)["errors"]["json"]
    assert errors["reminders"] == ["A `before` reminder needs a due date."]
    task = alice.create(title="T", due_date=DUE, reminders=[{"before": "PT15M"}])
    dropped = alice.put(f"/tasks/{task['id']}", json={"due_date": None})
    assert "reminders" in assert_error(dropped, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


@pytest.mark.parametrize(
    "query",
    [
        "after=2026-12-01T00:00:00Z&before=2026-11-30T00:00:00Z",
        "after=2026-12-01T00:00:00Z&before=2027-01-01T00:00:01Z",
        "after=yesterday",
        "before=2026-13-01T00:00:00Z",
    ],
)
def test_bad_windows_are_422(alice, query):
    body = assert_error(alice.get(f"/reminders?{query}"), 422)
    assert body["errors"]["query"]


def test_a_31_day_window_is_allowed(alice):
    alice.create(title="T", reminders=[{"at": "2026-12-31T23:59:00Z"}])
    assert window(alice, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z") == [
        ("T", "2026-12-31T23:59:00Z")
    ]


def test_another_users_reminders_never_appear(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    alice.create(title="Mine", due_date=DUE, reminders=[{"before": "PT1H"}])
    assert window(bob, "2026-12-10T00:00:00Z") == []
    assert window(alice, "2026-12-10T00:00:00Z") == [("Mine", "2026-12-10T08:00:00Z")]


@pytest.mark.postgres_only
def test_a_window_is_index_scans_of_reminders_and_assigned_tasks(app, client):
    user_id = "reminders-explain"
    headers = bearer(make_token(user_id))
    # Exempt from the statement timeout: 40,000 rows can take longer on a busy host.
    run_unbounded(
        get_engine(app),
        "INSERT INTO tasks (id, user_id, title, status, completed, priority,"
        " tags, position, created_at, updated_at, version, reminders)"
        " SELECT gen_random_uuid(), :user || (n % 20), 't', 'pending', false,"
        " 1, '[]', 'a0', now(), now(), 1, '[]'"
        " FROM generate_series(1, 40000) n",
        user=user_id,
    )
    run_unbounded(
        get_engine(app),
        "INSERT INTO reminders (task_id, user_id, remind_at, before)"
        " SELECT id, user_id, now() + (random() * interval '60 days'), NULL"
        " FROM tasks WHERE user_id LIKE :user || '%'",
        user=user_id,
    )
    with (
        get_engine(app)
        .connect()
        .execution_options(isolation_level="AUTOCOMMIT") as conn
    ):
        conn.execute(text("ANALYZE tasks, reminders"))
    response = client.get(f"/api/{user_id}0/reminders", headers=headers)
    assert response.status_code == 403  # the path must name the token's user
    headers = bearer(make_token(f"{user_id}0"))
    response, plan = explain_last_statement(
        app, lambda: client.get("/api/reminders", headers=headers)
    )
    assert response.status_code == 200 and response.get_json()
    nodes = plan_nodes(plan)
    print(f"\nGET /reminders plan: {nodes}")
    assert ("Seq Scan", "reminders") not in nodes and ("Seq Scan", "tasks") not in nodes
    # the creator's rows by range; the tasks assigned to the user by theirs
    for index in ("ix_reminders_user_remind_at", "ix_tasks_assignee"):
        assert any(
            kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
            and name == index
            for kind, name in nodes
        ), nodes
