"""A task's status: pending, in progress or completed, with `completed` kept as
`status == "completed"` for the clients that only know that."""

import pytest

from tests.support.responses import assert_error
from tests.support.sql import sent_statements


def test_a_new_task_is_pending_unless_it_says_otherwise(users_on):
    alice = users_on("alice")

    assert alice.create()["status"] == "pending"
    started = alice.create(status="in_progress")
    assert (started["status"], started["completed"]) == ("in_progress", False)
    assert started["completed_at"] is None
    done = alice.create(completed=True)
    assert (done["status"], done["completed"]) == ("completed", True)
    assert done["completed_at"] is not None
    both = alice.create(status="completed", completed=True)
    assert both["status"] == "completed" and both["completed_at"] is not None


@pytest.mark.parametrize(
    "body",
    [
        {"status": "completed", "completed": False},
        {"status": "pending", "completed": True},
        {"status": "in_progress", "completed": True},
    ],
)
def test_status_and_completed_that_disagree_are_refused(users_on, body):
    alice = users_on("alice")
    task = alice.create(title="Kept")

    created = alice.post("/tasks", json={"title": "x", **body})
    updated = alice.patch(f"/tasks/{task['id']}", json=body)

    for response in (created, updated):
        error = assert_error(response, 422)
        assert "status" in error["errors"]["json"]
    assert alice.get("/tasks").get_json() == [task]


@pytest.mark.parametrize("status", ["done", "PENDING", "", None, 1, ["pending"]])
def test_a_status_that_is_not_one_of_the_three_is_refused(alice, status):
    task = alice.create()

    assert_error(alice.post("/tasks", json={"title": "x", "status": status}), 422)
    response = alice.put(f"/tasks/{task['id']}", json={"status": status})

    assert "status" in assert_error(response, 422)["errors"]["json"]
    assert alice.get("/tasks").get_json() == [task]


def test_completed_at_follows_the_status_in_and_out_of_completed(alice):
    task = alice.create()
    url = f"/tasks/{task['id']}"

    started = alice.patch(url, json={"status": "in_progress"}).get_json()
    assert (started["completed"], started["completed_at"]) == (False, None)
    done = alice.patch(url, json={"status": "completed"}).get_json()
    assert done["completed"] is True and done["completed_at"] is not None
    again = alice.patch(url, json={"status": "in_progress"}).get_json()
    assert (again["completed"], again["completed_at"]) == (False, None)


def test_completed_false_reopens_a_completed_task_and_leaves_others_alone(alice):
    started = alice.create(status="in_progress")
    done = alice.create(status="completed")

    unchanged = alice.patch(f"/tasks/{started['id']}", json={"completed": False})
    reopened = alice.patch(f"/tasks/{done['id']}", json={"completed": False})

    assert unchanged.get_json() == started  # no change: updated_at kept too
    assert reopened.get_json()["status"] == "pending"
    assert reopened.get_json()["completed_at"] is None
    set_false = alice.patch(
        f"/tasks/{started['id']}/complete", json={"completed": False}
    )
    assert set_false.get_json() == started
    set_true = alice.patch(f"/tasks/{started['id']}/complete", json={"completed": True})
    assert set_true.get_json()["status"] == "completed"


@pytest.mark.parametrize("conditional", [False, True], ids=["plain", "if-match"])
def test_the_toggle_completes_anything_but_a_completed_task_which_it_reopens(
    alice, conditional
):
    def toggle(task_id):
        headers = {}
        if conditional:
            headers["If-Match"] = alice.get(f"/tasks/{task_id}").headers["ETag"]
        response = alice.patch(f"/tasks/{task_id}/complete", headers=headers)
        assert response.status_code == 200
        return response.get_json()

    for status in ("pending", "in_progress"):
        task = alice.create(status=status)
        toggled = toggle(task["id"])
        assert (toggled["status"], toggled["completed"]) == ("completed", True)
        assert toggled["completed_at"] is not None
        back = toggle(task["id"])
        assert (back["status"], back["completed"], back["completed_at"]) == (
            "pending",
            False,
            None,
        )


def test_the_toggle_is_still_one_statement(app, alice):
    task = alice.create(status="in_progress")

    with sent_statements(app) as sent:
        response = alice.patch(f"/tasks/{task['id']}/complete")

    assert response.get_json()["status"] == "completed"
    assert len(sent) == 1


def test_the_status_filter_repeats_and_goes_with_completed(users_on):
    alice = users_on("alice")
    pending = alice.create(title="pending")
    started = alice.create(title="started", status="in_progress")
    done = alice.create(title="done", status="completed")

    def titles(query):
        response = alice.get(f"/tasks?{query}&sort=title")
        assert response.status_code == 200, response.get_json()
        return [task["title"] for task in response.get_json()]

    assert titles("status=in_progress") == [started["title"]]
    assert titles("status=pending&status=completed") == ["done", "pending"]
    assert titles("status=pending&status=in_progress&completed=false") == [
        "pending",
        "started",
    ]
    assert titles("status=completed&completed=false") == []
    assert titles("completed=true") == [done["title"]]
    assert pending["status"] == "pending"
    error = assert_error(alice.get("/tasks?status=done"), 422)
    assert "status" in error["errors"]["query"]
