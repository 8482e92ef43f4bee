"""A frontend on a flaky network retries a create: with an `Idempotency-Key` the
retry answers the first 201 again instead of creating the task twice."""

import functools
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from taskapi.core.columns import utcnow
from taskapi.core.db import Session
from taskapi.tasks.models import IdempotencyKey
from tests.support.responses import assert_error


def post_with_key(user, key, body):
    return user.post("/tasks", json=body, headers={"Idempotency-Key": key})


def age_keys(app, user_id, hours):
    """Move the user's keys `hours` into the past (time travel for expiry)."""
    with app.app_context():
        Session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id)
            .values(created_at=utcnow() - timedelta(hours=hours))
        )
        Session.commit()


def stored_keys(app, user_id):
    with app.app_context():
        return set(
            Session.scalars(
                select(IdempotencyKey.key).where(IdempotencyKey.user_id == user_id)
            )
        )


def test_a_retry_with_the_same_key_answers_the_first_201_and_creates_nothing(
    users_on,
):
    alice = users_on("alice")
    key = str(uuid.uuid4())
    body = {"title": "Buy milk", "tags": ["home"], "due_date": "2026-12-01"}

    first = post_with_key(alice, key, body)
    retry = post_with_key(alice, key, body)

    assert first.status_code == retry.status_code == 201
    assert retry.data == first.data
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Content-Type"] == "application/json"
    assert [task["id"] for task in alice.get("/tasks").get_json()] == [
        first.get_json()["id"]
    ]


def test_the_same_body_written_differently_is_the_same_body(alice):
    key = "retry-1"
    first = post_with_key(alice, key, {"title": "Plan", "priority": "high"})

    retry = alice.post(
        "/tasks",
        data='{ "priority" : "HIGH",\n  "title": "  Plan " }',
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )

    assert retry.status_code == 201
    assert retry.data == first.data
    assert len(alice.get("/tasks").get_json()) == 1


def test_the_retry_answers_the_original_even_after_the_task_changed(alice):
    key = "k"
    first = post_with_key(alice, key, {"title": "Draft"})
    alice.patch(f"/tasks/{first.get_json()['id']}", json={"title": "Final"})

    retry = post_with_key(alice, key, {"title": "Draft"})

    assert retry.status_code == 201
    assert retry.get_json()["title"] == "Draft"
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert len(alice.get("/tasks").get_json()) == 1


def test_the_same_key_with_another_body_is_409_and_creates_nothing(alice):
    first = post_with_key(alice, "key-1", {"title": "Buy milk"})

    response = post_with_key(alice, "key-1", {"title": "Buy bread"})

    error = assert_error(response, 409, "Conflict")
    assert "Idempotency-Key" in error["detail"]
    assert [task["title"] for task in alice.get("/tasks").get_json()] == ["Buy milk"]
    # and the key still answers its own body
    assert post_with_key(alice, "key-1", {"title": "Buy milk"}).data == first.data


def test_keys_belong_to_one_user(alice, bob):
    alices = post_with_key(alice, "shared-key", {"title": "Alice's"})

    bobs = post_with_key(bob, "shared-key", {"title": "Bob's"})

    assert bobs.status_code == 201
    assert bobs.get_json()["user_id"] == bob.id
    assert bobs.get_json()["id"] != alices.get_json()["id"]
    assert post_with_key(bob, "shared-key", {"title": "Bob's"}).data == bobs.data
    assert [task["title"] for task in alice.get("/tasks").get_json()] == ["Alice's"]


def test_a_key_is_the_users_on_both_route_families(alice):
    first = post_with_key(alice, "k", {"title": "Once"})

    retry = post_with_key(alice.via("/api"), "k", {"title": "Once"})

    assert retry.status_code == 201
    assert retry.data == first.data
    task_id = first.get_json()["id"]
    assert first.headers["Location"] == f"/api/{alice.id}/tasks/{task_id}"
    assert retry.headers["Location"] == f"/api/tasks/{task_id}"


def test_without_a_key_every_post_creates(alice):
    alice.create(title="Same")
    alice.create(title="Same")
    assert len(alice.get("/tasks").get_json()) == 2


@pytest.mark.parametrize(
    "key",
    ["", " ", "x" * 256, "clé", "tab\there", "\x7f"],
    ids=["empty", "blank", "too-long", "non-ascii", "control", "delete"],
)
def test_a_malformed_key_is_422_naming_the_header(alice, key):
    response = alice.post(
        "/tasks",
        json={"title": "x"},
        headers={"Idempotency-Key": key},
    )

    assert response.status_code == 422
    assert list(response.get_json()["errors"]["headers"]) == ["Idempotency-Key"]
    assert alice.get("/tasks").get_json() == []


@pytest.mark.parametrize("key", ["a", "x" * 255, "user:42/op=create?v=1 ~!"])
def test_any_printable_ascii_key_of_1_to_255_characters_is_accepted(alice, key):
    assert post_with_key(alice, key, {"title": "x"}).status_code == 201
    assert post_with_key(alice, key, {"title": "x"}).status_code == 201
    assert len(alice.get("/tasks").get_json()) == 1


def test_a_rejected_body_does_not_use_up_the_key(alice):
    assert post_with_key(alice, "k", {"title": ""}).status_code == 422
    assert post_with_key(alice, "k", {"nope": 1}).status_code == 422

    response = post_with_key(alice, "k", {"title": "Valid"})

    assert response.status_code == 201
    assert response.get_json()["title"] == "Valid"


def test_a_key_expires_after_24_hours(app, alice):
    first = post_with_key(alice, "daily", {"title": "Water the plants"})
    age_keys(app, alice.id, hours=23)
    assert post_with_key(alice, "daily", {"title": "Other"}).status_code == 409

    age_keys(app, alice.id, hours=25)
    again = post_with_key(alice, "daily", {"title": "Water the plants"})

    assert again.status_code == 201
    assert again.get_json()["id"] != first.get_json()["id"]
    assert len(alice.get("/tasks").get_json()) == 2
    # the new use of the key is fresh: a different body is a conflict again
    assert post_with_key(alice, "daily", {"title": "Other"}).status_code == 409


def test_a_keyed_post_clears_the_users_expired_keys(app, alice):
    post_with_key(alice, "old-1", {"title": "a"})
    post_with_key(alice, "old-2", {"title": "b"})
    age_keys(app, alice.id, hours=30)

    post_with_key(alice, "new", {"title": "c"})

    assert stored_keys(app, alice.id) == {"new"}


def test_the_cli_purges_expired_keys(app, alice, bob):
    post_with_key(alice, "old", {"title": "a"})
    age_keys(app, alice.id, hours=25)
    post_with_key(bob, "fresh", {"title": "b"})

    result = app.test_cli_runner().invoke(args=["purge-idempotency-keys"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Purged ")
    assert "expired idempotency key(s)" in result.output
    assert int(result.output.split()[1]) >= 1
    assert stored_keys(app, alice.id) == set()
    assert stored_keys(app, bob.id) == {"fresh"}
    # the task itself stays
    assert len(alice.get("/tasks").get_json()) == 1


# Real concurrency: a gunicorn server, requests released at the same moment --------

RACERS = 20


def race_posts(race, user, key, bodies):
    """POST each body with the same Idempotency-Key, all at the same moment."""
    return race(
        [
            functools.partial(
                user.request,
                "POST",
                "/tasks",
                json=body,
                headers={"Idempotency-Key": key},
            )
            for body in bodies
        ]
    )


@pytest.mark.postgres_only
def test_simultaneous_posts_with_one_key_create_one_task(live_server, race):
    alice = live_server.user("alice")
    body = {"title": "Pay rent", "priority": "urgent"}

    responses = race_posts(race, alice, "rent-2026-12", [body] * RACERS)

    tasks = alice.request("GET", "/tasks").get_json()
    assert len(tasks) == 1
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.status_code for r in responses]
    assert all(r.status_code in (201, 409) for r in responses)
    for response in created:
        assert response.get_json() == tasks[0]
        assert response.data == created[0].data
        assert response.headers["Location"] == f"/api/{alice.id}/tasks/{tasks[0]['id']}"
        assert response.headers["ETag"] == created[0].headers["ETag"]


@pytest.mark.postgres_only
def test_simultaneous_posts_with_one_key_and_two_bodies_create_one_task(
    live_server, race
):
    alice = live_server.user("alice")
    bodies = [{"title": "Version A"}, {"title": "Version B"}] * (RACERS // 2)

    responses = race_posts(race, alice, "one-key", bodies)

    (task,) = alice.request("GET", "/tasks").get_json()
    for body, response in zip(bodies, responses, strict=True):
        if body["title"] == task["title"]:
            assert response.status_code in (201, 409)
            if response.status_code == 201:
                assert response.get_json() == task
        else:
            assert response.status_code == 409
