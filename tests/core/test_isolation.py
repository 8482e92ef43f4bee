"""One user can never see, change or even detect another user's tasks."""

import pytest

from tests.support.responses import assert_error

OPERATIONS = [
    ("GET", "/tasks/{id}", None),
    ("PUT", "/tasks/{id}", {"title": "hijacked"}),
    ("PATCH", "/tasks/{id}", {"title": "hijacked"}),
    ("PATCH", "/tasks/{id}/complete", None),
    ("PATCH", "/tasks/{id}/complete", {"completed": True}),
    ("DELETE", "/tasks/{id}", None),
]


@pytest.mark.parametrize("method, path, body", OPERATIONS)
def test_another_users_task_is_404_exactly_like_a_missing_one(
    users_on, method, path, body
):
    alice, bob = users_on("alice"), users_on("bob")
    task = alice.create(title="Alice's secret")
    never_used = "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11"

    foreign = bob.request(method, path.format(id=task["id"]), json=body)
    missing = bob.request(method, path.format(id=never_used), json=body)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json() == missing.get_json()
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


def test_lists_hold_only_the_users_own_tasks(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    mine = alice.create(title="Alice's")
    theirs = bob.create(title="Bob's")

    assert [t["id"] for t in alice.get("/tasks").get_json()] == [mine["id"]]
    assert [t["id"] for t in bob.get("/tasks").get_json()] == [theirs["id"]]


def test_a_created_task_belongs_to_the_token_user(users_on):
    alice = users_on("alice")
    task = alice.create()
    assert task["user_id"] == alice.id


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/tasks"),
        ("POST", "/tasks"),
        ("GET", "/tasks/{id}"),
        ("PUT", "/tasks/{id}"),
        ("PATCH", "/tasks/{id}"),
        ("PATCH", "/tasks/{id}/complete"),
        ("DELETE", "/tasks/{id}"),
    ],
)
def test_a_path_naming_another_user_is_403_on_every_route(
    client, alice, bob, method, path
):
    task = bob.create()
    response = client.open(
        f"/api/{bob.id}" + path.format(id=task["id"]),
        method=method,
        json={"title": "x"},
        headers=alice.headers,
    )
    assert_error(response, 403, "Forbidden")
    assert bob.get(f"/tasks/{task['id']}").get_json() == task
    assert len(bob.get("/tasks").get_json()) == 1
