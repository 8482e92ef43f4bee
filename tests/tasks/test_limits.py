"""No one user slows down everyone: the limits of the contract's part three.

`q` is at most 200 characters and costs about the same whatever it holds; a task
has at most 100 subtasks, wherever one comes to be; a user has at most 100,000
live tasks; completing and reopening a recurring task over and over does not
pile up rows.
"""

import time

import pytest
from sqlalchemy import text

from taskapi.core.db import get_engine
from taskapi.core.errors import MAX_LIVE_TASKS
from tests.support.bulk import add_tasks, remove_tasks
from tests.support.responses import assert_error
from tests.support.users import User

EMOJI = "\U0001f600"  # four bytes in UTF-8: a byte-wise matcher works 4x harder


@pytest.fixture
def roomy_client(make_app):
    """A client of the app with a rate limit that lets a test build thousands of
    tasks through the API."""
    return make_app(API_RATE_LIMIT="100000/minute").test_client()


@pytest.fixture
def fill(app):
    """fill(user_id, count): live tasks in bulk, removed again after the test."""
    engine, filled = get_engine(app), []

    def add(user_id, count):
        filled.append(user_id)
        add_tasks(engine, user_id, count)

    yield add
    for user_id in filled:
        remove_tasks(engine, user_id)


def create_many(user, bodies, per_batch=50):
    """Create tasks through POST /tasks/batch; their ids, in order."""
    ids = []
    for start in range(0, len(bodies), per_batch):
        operations = [
            {"op": "create", "body": body} for body in bodies[start : start + per_batch]
        ]
        response = user.post("/tasks/batch", json={"operations": operations})
        assert response.status_code == 200, response.get_json()
        ids.extend(r["task"]["id"] for r in response.get_json()["results"])
    return ids


# q ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["q", "search"])
def test_q_is_at_most_200_characters(alice, name):
    alice.create(title="x" * 200)

    assert alice.get("/tasks", query_string={name: "x" * 200}).status_code == 200
    body = assert_error(alice.get("/tasks", query_string={name: "x" * 201}), 422)
    assert body["errors"]["query"][name] == ["Longer than maximum length 200."]


def test_a_crafted_q_over_2000_tasks_answers_quickly_with_the_right_tasks(
    roomy_client,
):
    """Finding 6: a `q` that a byte-by-byte LIKE matcher retries at every
    position of a long description (about n x m steps per task) cost 7.7 ms per
    stored task, 15 s for one listing of 2,000 tasks. Each description holds every
    trigram of `q`, so the trigram index does not filter them out first."""
    alice = User(roomy_client, "alice-q-" + str(time.time_ns()))
    q = EMOJI * 199 + "c"
    decoys = [
        {"title": f"Decoy {n}", "description": EMOJI * 2 + "c" + EMOJI * 1997}
        for n in range(1997)
    ]
    hits = [
        {"title": f"Hit {n}", "description": "c" * n + EMOJI * 500 + q}
        for n in range(3)
    ]
    create_many(alice, decoys + hits)

    started = time.monotonic()
    response = alice.get("/tasks", query_string={"q": q, "sort": "title"})
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.get_json()
    assert [t["title"] for t in response.get_json()] == ["Hit 0", "Hit 1", "Hit 2"]
    assert response.headers["X-Total-Count"] == "3"
    assert elapsed < 2, f"GET /tasks?q=... took {elapsed:.2f} s"


@pytest.mark.parametrize(
    "q", ["50%", "a_c", "back\\slash", "(a|b)*", "[x]", "***=", "(?i)", ".*"]
)
def test_q_is_a_literal_substring_whatever_characters_it_holds(alice, q):
    alice.create(title=f"Has {q} inside")
    alice.create(title="Has nothing of the sort")

    listed = alice.get("/tasks", query_string={"q": q.upper()}).get_json()

    assert [t["title"] for t in listed] == [f"Has {q} inside"]


# 100 subtasks per task ------------------------------------------------------------


def with_subtasks(user, count, **fields):
    """A task with `count` subtasks, made in one batch; its body."""
    parent = user.create(title="Parent", **fields)
    operations = [
        {"op": "create", "body": {"title": f"Step {n}", "parent_id": parent["id"]}}
        for n in range(count)
    ]
    response = user.post("/tasks/batch", json={"operations": operations})
    assert response.status_code == 200, response.get_json()
    return parent


def test_the_101st_subtask_is_409_wherever_a_subtask_comes_to_be(users_on):
    alice = users_on("alice")
    parent = with_subtasks(alice, 100)
    loose = alice.create(title="Loose")
    elsewhere = with_subtasks(alice, 1)
    moved_in = alice.get(f"/tasks?parent_id={elsewhere['id']}").get_json()[0]
    under_parent = {"title": "Step 101", "parent_id": parent["id"]}

    refused = [
        alice.post("/tasks", json=under_parent),
        alice.post("/tasks", json=under_parent, headers={"Idempotency-Key": "k-1"}),
        alice.patch(f"/tasks/{loose['id']}", json={"parent_id": parent["id"]}),
        alice.put(f"/tasks/{moved_in['id']}", json={"parent_id": parent["id"]}),
        alice.post(f"/tasks/{loose['id']}/move", json={"parent_id": parent["id"]}),
        alice.post(
            "/tasks/batch",
            json={"operations": [{"op": "create", "body": under_parent}]},
        ),
    ]

    for response in refused:
        assert "100 subtasks" in assert_error(response, 409)["detail"]
    assert refused[-1].get_json()["operation"] == 0
    listed = alice.get(f"/tasks?parent_id={parent['id']}&per_page=1")
    assert listed.headers["X-Total-Count"] == "100"
    assert alice.get(f"/tasks/{loose['id']}").get_json()["parent_id"] is None
    some_step = alice.get(f"/tasks?parent_id={parent['id']}").get_json()[0]
    assert alice.delete(f"/tasks/{some_step['id']}").status_code == 204
    assert alice.post("/tasks", json=under_parent).status_code == 201


@pytest.mark.postgres_only
def test_subtasks_racing_for_the_last_place_make_one(live_server, race):
    alice = live_server.user("alice")
    parent = alice.request("POST", "/tasks", json={"title": "Parent"}).get_json()
    operations = [
        {"op": "create", "body": {"title": f"Step {n}", "parent_id": parent["id"]}}
        for n in range(99)
    ]
    assert (
        alice.request(
            "POST", "/tasks/batch", json={"operations": operations}
        ).status_code
        == 200
    )
    last = {"title": "Step 100", "parent_id": parent["id"]}

    statuses = race([lambda: alice.request("POST", "/tasks", json=last)] * 4)

    assert sorted(r.status_code for r in statuses) == [201, 409, 409, 409]


# 100,000 live tasks per user -------------------------------------------------------


def test_the_100001st_live_task_is_409_by_every_route_that_creates_one(fill, alice):
    recurring = alice.create(
        title="Water the plants",
        due_date="2027-01-04T09:00:00Z",
        recurrence={"rule": "FREQ=WEEKLY"},
    )
    fill(alice.id, MAX_LIVE_TASKS - 2)
    assert alice.post("/tasks", json={"title": "The last one"}).status_code == 201

    refused = alice.post("/tasks", json={"title": "One too many"})
    in_a_batch = alice.post(
        "/tasks/batch",
        json={"operations": [{"op": "create", "body": {"title": "One too many"}}]},
    )
    completing = alice.patch(f"/tasks/{recurring['id']}/complete")

    body = assert_error(refused, 409)
    assert "100,000" in body["detail"]
    assert assert_error(in_a_batch, 409)["operation"] == 0
    assert_error(completing, 409)  # its next occurrence would be one too many
    assert alice.get(f"/tasks/{recurring['id']}").get_json()["status"] == "pending"
    listed = alice.get("/tasks?per_page=1")
    assert listed.headers["X-Total-Count"] == str(MAX_LIVE_TASKS)
    assert alice.delete(f"/tasks/{recurring['id']}").status_code == 204
    assert alice.post("/tasks", json={"title": "Room again"}).status_code == 201


@pytest.mark.postgres_only
def test_creates_racing_for_the_last_place_make_one_task(fill, live_server, race):
    alice = live_server.user("alice")
    fill(alice.id, MAX_LIVE_TASKS - 1)

    statuses = race(
        [lambda: alice.request("POST", "/tasks", json={"title": "Last"})] * 4
    )

    assert sorted(r.status_code for r in statuses) == [201, 409, 409, 409]


# Completing and reopening a recurring task -------------------------------------------


def rows_of(app, user_id) -> int:
    """Every task row the user has, deleted ones included (what the API cannot
    show: they are the change feed's tombstones)."""
    with get_engine(app).connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM tasks WHERE user_id = :user"), {"user": user_id}
        ).scalar()


def test_completing_and_reopening_20_times_leaves_a_bounded_number_of_rows(app, alice):
    """Finding 8: each completion copied the task's subtasks into a new next
    occurrence and each reopening soft-deleted them, so a batch of 20 such
    operations on a task with 1,000 subtasks wrote 20,000 rows. A completion now
    takes the place of the occurrence the last undo removed."""
    task = with_subtasks(
        alice, 10, due_date="2027-01-04T09:00:00Z", recurrence={"rule": "FREQ=DAILY"}
    )
    operations = [{"op": "complete", "id": task["id"]}] * 40  # toggles: 20 cycles

    response = alice.post("/tasks/batch", json={"operations": operations})

    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["task"]["status"] for r in results[-2:]] == ["completed", "pending"]
    assert alice.get(f"/tasks/{task['id']}").get_json()["next_task_id"] is None
    assert alice.get("/tasks?per_page=1").headers["X-Total-Count"] == "11"
    # the task and its 10 subtasks, and the tombstones of one occurrence
    assert rows_of(app, alice.id) == 11 + 11


def test_a_sync_client_follows_the_occurrence_as_it_goes_and_comes_back(alice):
    """Each poll of the change feed leaves the client holding exactly the live
    tasks, while a completion and its undo make and remove the next occurrence."""
    task = with_subtasks(
        alice, 2, due_date="2027-01-04T09:00:00Z", recurrence={"rule": "FREQ=DAILY"}
    )
    held, cursor = {}, None

    for _toggle in range(5):
        assert alice.patch(f"/tasks/{task['id']}/complete").status_code == 200
        page = alice.get("/changes", query_string={"cursor": cursor} if cursor else {})
        page = page.get_json()
        held.update({t["id"]: t for t in page["tasks"]})
        for gone in page["deleted_tasks"]:
            held.pop(gone, None)
        cursor = page["cursor"]

        live = alice.get("/tasks?per_page=100").get_json()
        assert set(held) == {t["id"] for t in live}


def test_a_next_occurrence_made_again_reminds_once(alice):
    task = alice.create(
        title="Pay rent",
        due_date="2027-01-04T09:00:00Z",
        recurrence={"rule": "FREQ=DAILY"},
        reminders=[{"before": "PT1H"}],
    )
    for _toggle in range(5):  # completed, reopened, ..., completed
        alice.patch(f"/tasks/{task['id']}/complete")

    window = {"after": "2027-01-05T00:00:00Z", "before": "2027-01-06T00:00:00Z"}
    reminders = alice.get("/reminders", query_string=window).get_json()

    assert [(r["title"], r["remind_at"]) for r in reminders] == [
        ("Pay rent", "2027-01-05T08:00:00Z")
    ]
