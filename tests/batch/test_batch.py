"""POST /tasks/batch: several task operations, in order, in one transaction: all of
them take effect, or none does."""

import pytest
from sqlalchemy import select

from taskapi.core.db import Session
from taskapi.tasks.models import Task
from tests.support.responses import assert_error

OPS = [
    {"op": "create", "ref": "p", "body": {"title": "Parent"}},
    {"op": "create", "ref": "c", "body": {"title": "Child", "parent_id": "ref:p"}},
    {"op": "update", "id": "ref:c", "body": {"title": "Child, renamed"}},
    {"op": "complete", "id": "ref:p"},
    {"op": "create", "ref": "s", "body": {"title": "Sibling"}},
    {"op": "move", "id": "ref:s", "body": {"before": "ref:p"}},
    {"op": "delete", "id": "ref:c"},
]


def snapshot(user):
    listed = user.get("/tasks?per_page=100&sort=position").get_json()
    return sorted((t["id"], t["title"], t["status"], t["position"]) for t in listed)


def batch(user, operations, **kwargs):
    return user.post("/tasks/batch", json={"operations": operations}, **kwargs)


def test_a_batch_runs_in_order_with_refs_and_answers_each_result(users_on):
    alice = users_on("alice")
    response = batch(alice, OPS)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [201, 201, 200, 200, 201, 200, 204]
    parent, child = results[0]["task"], results[1]["task"]
    assert child["parent_id"] == parent["id"]
    assert results[2]["task"]["title"] == "Child, renamed"
    assert results[3]["task"]["status"] == "completed"
    listed = alice.get("/tasks?parent_id=none&sort=position").get_json()
    assert [t["title"] for t in listed] == ["Sibling", "Parent"]
    assert alice.get(f"/tasks/{child['id']}").status_code == 404


@pytest.mark.parametrize("failing", range(len(OPS)))
def test_a_failure_at_any_position_changes_nothing(alice, failing):
    existing = alice.create(title="Already here")
    before = snapshot(alice)
    operations = [dict(op) for op in OPS]
    broken = dict(operations[failing])
    if broken["op"] == "create":
        broken["body"] = {**broken["body"], "title": ""}
        expected = 422
    else:
        broken["id"] = "00000000-0000-4000-8000-000000000000"
        expected = 404
    operations[failing] = broken
    operations.append({"op": "update", "id": existing["id"], "body": {"title": "x"}})
    body = assert_error(batch(alice, operations), expected)
    assert body["operation"] == failing
    assert snapshot(alice) == before


def test_if_match_inside_a_batch(alice):
    task = alice.create(title="T")
    etag = alice.get(f"/tasks/{task['id']}").headers["ETag"]
    stale = [
        {"op": "update", "id": task["id"], "body": {"title": "A"}, "if_match": etag},
        {"op": "update", "id": task["id"], "body": {"title": "B"}, "if_match": etag},
    ]
    body = assert_error(batch(alice, stale), 412)
    assert body["operation"] == 1
    assert alice.get(f"/tasks/{task['id']}").get_json()["title"] == "T"
    ok = batch(alice, stale[:1])
    assert ok.status_code == 200
    assert ok.get_json()["results"][0]["task"]["title"] == "A"


def test_an_idempotent_retry_answers_the_first_result_and_changes_nothing(alice):
    key = {"Idempotency-Key": "batch-1"}
    first = batch(alice, OPS[:2], headers=key)
    again = batch(alice, OPS[:2], headers=key)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert len(alice.get("/tasks").get_json()) == 2
    other = batch(alice, OPS[:1], headers=key)
    assert_error(other, 409)
    assert len(alice.get("/tasks").get_json()) == 2


BAD_BATCHES = [
    {},
    {"operations": []},
    {"operations": [{"op": "create", "body": {"title": "x"}}] * 101},
    {"operations": "create"},
    {"operations": ["create"]},
    {"operations": [{"op": "create", "body": {"title": "x"}}], "extra": 1},
]


@pytest.mark.parametrize("body", BAD_BATCHES)
def test_malformed_batches_are_422(alice, body):
    assert_error(alice.post("/tasks/batch", json=body), 422)
    assert alice.get("/tasks").get_json() == []


BAD_OPERATIONS = [
    ({"op": "explode"}, "op"),
    ({"op": "update", "body": {"title": "x"}}, "id"),
    ({"op": "update", "id": "ref:nope", "body": {"title": "x"}}, "id"),
    ({"op": "create", "body": {"title": "x", "parent_id": "ref:nope"}}, "parent_id"),
    ({"op": "create", "body": {"title": "x"}, "colour": "red"}, "colour"),
    ({"op": "create", "body": "x"}, "body"),
    ({"op": "create", "body": {"title": "x", "id": "y"}}, "id"),
    ({"op": "complete", "id": "ref:p", "body": {"completed": "yes"}}, "completed"),
]


@pytest.mark.parametrize(("operation", "field"), BAD_OPERATIONS)
def test_bad_operations_are_422_naming_the_field_and_change_nothing(
    alice, operation, field
):
    operations = [OPS[0], operation]
    body = assert_error(batch(alice, operations), 422)
    assert body["operation"] == 1
    assert field in body["errors"]["json"], body
    assert alice.get("/tasks").get_json() == []


def test_another_users_tasks_are_not_found_in_a_batch(alice, bob):
    task = alice.create(title="Alice's")
    for operation in (
        {"op": "update", "id": task["id"], "body": {"title": "mine"}},
        {"op": "delete", "id": task["id"]},
        {"op": "create", "body": {"title": "x", "parent_id": task["id"]}},
    ):
        response = batch(bob, [operation])
        assert response.status_code in (404, 422)
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


def test_each_operation_counts_against_the_rate_limit(make_app):
    from tests.support.users import User, new_user_id

    app = make_app(API_RATE_LIMIT="10/hour")
    alice = User(app.test_client(), new_user_id("alice"), prefix="/api")
    ops = [{"op": "create", "body": {"title": f"t{n}"}} for n in range(6)]
    first = batch(alice, ops)
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Remaining"] == "4"
    refused = batch(alice, ops)  # 6 more do not fit in the 4 left
    assert_error(refused, 429)
    assert "Retry-After" in refused.headers
    with app.app_context():
        created = Session.scalars(select(Task.id).where(Task.user_id == alice.id))
        assert len(created.all()) == 6  # the refused batch ran no operation


def test_completing_a_recurring_task_in_a_batch_creates_its_next(alice):
    task = alice.create(
        title="Daily",
        due_date="2026-12-01T09:00:00Z",
        recurrence={"rule": "FREQ=DAILY"},
    )
    response = batch(alice, [{"op": "complete", "id": task["id"]}])
    done = response.get_json()["results"][0]["task"]
    following = alice.get(f"/tasks/{done['next_task_id']}").get_json()
    assert following["due_date"] == "2026-12-02T09:00:00Z"


def test_a_run_of_plain_creates_lands_after_the_inbox_in_order(alice):
    first = alice.create(title="Already here")
    ops = [
        {"op": "create", "ref": f"r{n}", "body": {"title": f"t{n}", "tags": ["x"]}}
        for n in range(5)
    ]
    ops.append({"op": "move", "id": "ref:r4", "body": {"after": first["id"]}})
    results = batch(alice, ops).get_json()["results"]
    made = [r["task"] for r in results[:5]]
    assert [t["title"] for t in made] == [f"t{n}" for n in range(5)]
    ordered = alice.get("/tasks?sort=position").get_json()
    assert [t["title"] for t in ordered] == [
        "Already here",
        "t4",
        "t0",
        "t1",
        "t2",
        "t3",
    ]
    for task in made:
        assert alice.get(f"/tasks/{task['id']}").get_json()["tags"] == ["x"]
