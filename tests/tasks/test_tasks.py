"""A user keeps a to-do list: create, read, change, complete and delete tasks."""

import re
import uuid
from datetime import datetime

from sqlalchemy import select

from taskapi.core.db import Session
from taskapi.tasks.models import Task
from tests.support.responses import assert_error

UTC_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


def test_a_new_task_gets_an_id_defaults_and_a_location(users_on):
    alice = users_on("alice")
    response = alice.post("/tasks", json={"title": "Buy milk"})

    assert response.status_code == 201
    task = response.get_json()
    assert uuid.UUID(task["id"])
    assert task["user_id"] == alice.id
    assert task["title"] == "Buy milk"
    assert task["description"] is None
    assert task["completed"] is False
    assert task["completed_at"] is None
    assert task["priority"] == "medium"
    assert task["due_date"] is None
    assert task["tags"] == []
    assert UTC_TIMESTAMP.fullmatch(task["created_at"])
    assert task["updated_at"] == task["created_at"]
    assert response.headers["Location"] == f"{alice.prefix}/tasks/{task['id']}"
    assert response.headers["Content-Type"] == "application/json"
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


def test_every_field_can_be_given_on_create(alice):
    task = alice.create(
        title="  Plan trip  ",
        description="Flights 🛫 and hotel",
        priority="URGENT",
        due_date="2026-12-01T09:00:00+02:00",
        tags=[" Travel", "travel", "Family ", "🏖"],
        completed=True,
    )

    assert task["title"] == "Plan trip"
    assert task["description"] == "Flights 🛫 and hotel"
    assert task["priority"] == "urgent"
    assert task["due_date"] == "2026-12-01T07:00:00Z"
    assert task["tags"] == ["travel", "family", "🏖"]
    assert task["completed"] is True
    assert UTC_TIMESTAMP.fullmatch(task["completed_at"])


def test_due_dates_without_offset_are_utc_and_bare_dates_are_midnight(alice):
    assert (
        alice.create(due_date="2026-12-01T09:30")["due_date"] == "2026-12-01T09:30:00Z"
    )
    assert alice.create(due_date="2026-12-01")["due_date"] == "2026-12-01T00:00:00Z"
    assert alice.create(due_date="2026-12-01t09:30:00.5z")["due_date"] == (
        "2026-12-01T09:30:00.500000Z"
    )
    assert alice.create(due_date=None)["due_date"] is None


def test_put_and_patch_apply_only_the_fields_given(users_on):
    alice = users_on("alice")
    task = alice.create(title="Draft", description="keep me", tags=["a"])

    for method in ("put", "patch"):
        response = getattr(alice, method)(
            f"/tasks/{task['id']}",
            json={"title": f"Final {method}", "priority": "High"},
        )
        assert response.status_code == 200
        body = response.get_json()
        assert body["title"] == f"Final {method}"
        assert body["priority"] == "high"
        assert body["description"] == "keep me"
        assert body["tags"] == ["a"]
        assert body["updated_at"] > task["updated_at"]


def test_fields_can_be_cleared(alice):
    task = alice.create(description="x", due_date="2026-12-01", tags=["a"])

    body = alice.patch(
        f"/tasks/{task['id']}", json={"description": None, "due_date": None, "tags": []}
    ).get_json()

    assert (body["description"], body["due_date"], body["tags"]) == (None, None, [])
    assert (
        alice.patch(f"/tasks/{task['id']}", json={"tags": None}).get_json()["tags"]
        == []
    )


def test_an_empty_update_changes_nothing(alice):
    task = alice.create(title="Same")

    response = alice.put(f"/tasks/{task['id']}", json={})

    assert response.status_code == 200
    assert response.get_json() == task


def test_writing_the_values_a_task_already_has_is_no_change(alice):
    task = alice.create(title="Same", priority="low", tags=["x"], due_date="2026-12-01")

    body = alice.patch(
        f"/tasks/{task['id']}",
        json={
            "title": " Same ",
            "priority": "LOW",
            "tags": ["X"],
            "due_date": "2026-12-01T00:00:00Z",
            "completed": False,
        },
    ).get_json()

    assert body == task


def test_completing_through_an_update_stamps_completed_at(alice):
    task = alice.create()

    done = alice.patch(f"/tasks/{task['id']}", json={"completed": True}).get_json()
    assert done["completed"] is True
    assert UTC_TIMESTAMP.fullmatch(done["completed_at"])

    reopened = alice.patch(f"/tasks/{task['id']}", json={"completed": False}).get_json()
    assert reopened["completed"] is False
    assert reopened["completed_at"] is None


def test_complete_without_a_body_toggles(users_on):
    alice = users_on("alice")
    task = alice.create()
    url = f"/tasks/{task['id']}/complete"

    first = alice.patch(url)
    assert first.status_code == 200
    assert first.get_json()["completed"] is True
    assert UTC_TIMESTAMP.fullmatch(first.get_json()["completed_at"])

    # What browser clients send: a JSON content type and an empty body.
    second = alice.patch(url, headers={"Content-Type": "application/json"}, data=b"")
    assert second.get_json()["completed"] is False
    assert second.get_json()["completed_at"] is None
    assert second.get_json()["updated_at"] > first.get_json()["updated_at"]


def test_complete_with_a_body_sets_the_value_idempotently(alice):
    task = alice.create()
    url = f"/tasks/{task['id']}/complete"

    first = alice.patch(url, json={"completed": True}).get_json()
    again = alice.patch(url, json={"completed": True}).get_json()
    assert first["completed"] is again["completed"] is True
    assert again == first  # no change the second time: same completed_at, updated_at

    assert alice.patch(url, json={"completed": False}).get_json()["completed"] is False
    assert alice.patch(url, json={}).get_json()["completed"] is True  # {} toggles


def test_delete_is_soft_and_the_task_is_gone_everywhere(app, users_on):
    alice = users_on("alice")
    task = alice.create()
    url = f"/tasks/{task['id']}"

    response = alice.delete(url, headers={"Content-Type": "application/json"})
    assert response.status_code == 204
    assert response.data == b""

    assert alice.get(url).status_code == 404
    assert alice.put(url, json={"title": "x"}).status_code == 404
    assert alice.patch(url, json={"title": "x"}).status_code == 404
    assert alice.patch(url + "/complete").status_code == 404
    assert alice.delete(url).status_code == 404
    assert alice.get("/tasks").get_json() == []
    with app.app_context():
        row = Session.scalars(
            select(Task).where(Task.id == uuid.UUID(task["id"]))
        ).one()
        assert isinstance(row.deleted_at, datetime)


def test_unknown_and_malformed_task_ids_are_404(alice):
    for task_id in (str(uuid.uuid4()), "not-a-uuid", "1", "%00"):
        response = alice.get(f"/tasks/{task_id}")
        assert assert_error(response, 404)["detail"] == "Task not found."


def test_the_list_is_newest_first_and_paginated(users_on):
    alice = users_on("alice")
    ids = [alice.create(title=f"task {n}")["id"] for n in range(5)]

    everything = alice.get("/tasks")
    assert everything.status_code == 200
    assert [t["id"] for t in everything.get_json()] == ids[::-1]

    page_2 = alice.get("/tasks?page=2&per_page=2").get_json()
    assert [t["id"] for t in page_2] == ids[::-1][2:4]
    assert alice.get("/tasks?page=4&per_page=2").get_json() == []


def test_a_user_without_tasks_gets_an_empty_list(alice):
    response = alice.get("/tasks")
    assert response.status_code == 200
    assert response.get_json() == []
