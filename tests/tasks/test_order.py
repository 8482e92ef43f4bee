"""A user puts tasks in their own order: new tasks go last, moves put a task
after or before another, positions never run out, and concurrent moves never
break the order."""

import functools
import random
import statistics
import time
import uuid

import pytest
from fractional_indexing import generate_key_between, generate_n_keys_between
from sqlalchemy import insert, text, update

from taskapi.core.columns import utcnow
from taskapi.core.db import Session, get_engine
from taskapi.lists.models import TaskList
from taskapi.tasks.models import Task
from taskapi.tasks.ordering import MAX_KEY_LENGTH
from tests.support.environment import on_postgres
from tests.support.responses import assert_error
from tests.support.sql import explain_last_statement, plan_nodes, sent_statements
from tests.support.users import User, bearer, make_token, new_user_id

NEVER_USED = "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11"


def ordered(user, query="", sort="position"):
    """Titles in the listing's manual order."""
    response = user.get(f"/tasks?sort={sort}&per_page=100&{query}")
    assert response.status_code == 200, response.get_json()
    return [task["title"] for task in response.get_json()]


def move(user, task, **body):
    response = user.post(f"/tasks/{task['id']}/move", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def tasks(user, *titles, **fields):
    return {title: user.create(title=title, **fields) for title in titles}


def test_new_tasks_go_last_and_sort_position_gives_the_order(users_on):
    alice = users_on("alice")
    made = tasks(alice, "a", "b", "c")

    positions = [task["position"] for task in made.values()]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert ordered(alice) == ["a", "b", "c"]
    assert ordered(alice, sort="-position") == ["c", "b", "a"]


def test_moves_put_a_task_after_before_between_or_last(users_on):
    alice = users_on("alice")
    t = tasks(alice, "a", "b", "c", "d")

    move(alice, t["d"], after=t["a"]["id"])
    assert ordered(alice) == ["a", "d", "b", "c"]
    move(alice, t["a"], before=t["c"]["id"])
    assert ordered(alice) == ["d", "b", "a", "c"]
    move(alice, t["c"], after=t["d"]["id"], before=t["b"]["id"])
    assert ordered(alice) == ["d", "c", "b", "a"]
    move(alice, t["d"])
    assert ordered(alice) == ["c", "b", "a", "d"]
    move(alice, t["b"], after=None, before=None)
    assert ordered(alice) == ["c", "a", "d", "b"]
    move(alice, t["b"], before=t["c"]["id"])
    assert ordered(alice) == ["b", "c", "a", "d"]


def test_a_move_answers_the_task_with_its_new_etag_and_honours_if_match(alice):
    t = tasks(alice, "a", "b")
    url = f"/tasks/{t['b']['id']}/move"
    tag = alice.get(f"/tasks/{t['b']['id']}").headers["ETag"]

    moved = alice.post(url, json={"before": t["a"]["id"]}, headers={"If-Match": tag})

    assert moved.status_code == 200
    assert moved.headers["ETag"] != tag
    assert moved.get_json() == alice.get(f"/tasks/{t['b']['id']}").get_json()
    stale = alice.post(url, json={"after": t["a"]["id"]}, headers={"If-Match": tag})
    assert_error(stale, 412)
    assert ordered(alice) == ["b", "a"]


def test_a_move_to_where_the_task_already_is_changes_nothing(alice):
    t = tasks(alice, "a", "b", "c")
    tag = alice.get(f"/tasks/{t['b']['id']}").headers["ETag"]

    for body in ({"after": t["a"]["id"]}, {"before": t["c"]["id"]}):
        response = alice.post(f"/tasks/{t['b']['id']}/move", json=body)
        assert response.headers["ETag"] == tag
    assert alice.get(f"/tasks/{t['b']['id']}").get_json() == t["b"]


def test_moving_into_another_list_or_under_a_parent(users_on):
    alice = users_on("alice")
    work = alice.create_list("Work")
    w = tasks(alice, "w1", "w2", list_id=work["id"])
    t = tasks(alice, "a", "b")

    into_list = move(alice, t["a"], list_id=work["id"], after=w["w1"]["id"])
    assert into_list["list_id"] == work["id"]
    assert ordered(alice, f"list_id={work['id']}") == ["w1", "a", "w2"]
    under = move(alice, t["b"], parent_id=w["w2"]["id"])
    assert (under["parent_id"], under["list_id"]) == (w["w2"]["id"], work["id"])
    assert ordered(alice, f"parent_id={w['w2']['id']}") == ["b"]
    assert ordered(alice, "list_id=none") == []
    out = move(alice, under, parent_id=None, list_id=None)
    assert (out["parent_id"], out["list_id"]) == (None, None)


def test_a_reference_that_is_not_a_sibling_at_the_destination_is_422(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    work = alice.create_list("Work")
    t = tasks(alice, "a", "b", "c")
    elsewhere = alice.create(title="in work", list_id=work["id"])
    child = alice.create(title="child", parent_id=t["c"]["id"])
    gone = alice.create(title="gone")
    alice.delete(f"/tasks/{gone['id']}")
    foreign = bob.create(title="bob's")
    url = f"/tasks/{t['a']['id']}/move"

    errors = []
    for reference in (
        elsewhere["id"], child["id"], gone["id"], foreign["id"], NEVER_USED,
        t["a"]["id"],  # the task itself
    ):  # fmt: skip
        for field in ("after", "before"):
            body = assert_error(alice.post(url, json={field: reference}), 422)
            errors.append(str(body["errors"]["json"][field]))
    # in the inbox, t["b"] is no sibling once the task goes to the list
    to_work = {"list_id": work["id"], "after": t["b"]["id"]}
    errors.append(str(assert_error(alice.post(url, json=to_work), 422)["errors"]))
    assert len(set(errors[:-1])) == 1
    assert ordered(alice, "list_id=none&parent_id=none") == ["a", "b", "c"]


def test_after_and_before_that_are_not_neighbours_are_422(alice):
    t = tasks(alice, "a", "b", "c", "d")
    url = f"/tasks/{t['d']['id']}/move"

    for after, before in (("a", "c"), ("b", "a"), ("a", "a")):
        body = {"after": t[after]["id"], "before": t[before]["id"]}
        assert (
            "before" in assert_error(alice.post(url, json=body), 422)["errors"]["json"]
        )
    assert ordered(alice) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"after": "nope"}, "after"),
        ({"before": 7}, "before"),
        ({"list_id": "x"}, "list_id"),
        ({"parent_id": ["x"]}, "parent_id"),
        ({"position": "a0"}, "position"),
        ({"title": "no"}, "title"),
    ],
)
def test_bad_move_bodies_are_422(alice, body, field):
    task = alice.create()

    response = alice.post(f"/tasks/{task['id']}/move", json=body)

    assert field in assert_error(response, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


def test_position_is_read_only(alice):
    task = alice.create()

    created = alice.post("/tasks", json={"title": "x", "position": "a0"})
    updated = alice.patch(f"/tasks/{task['id']}", json={"position": "a0"})

    for response in (created, updated):
        assert "position" in assert_error(response, 422)["errors"]["json"]
    assert alice.get("/tasks").get_json() == [task]


def test_moving_an_unknown_or_foreign_task_is_404(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    theirs = alice.create()

    foreign = bob.post(f"/tasks/{theirs['id']}/move", json={})
    missing = bob.post(f"/tasks/{NEVER_USED}/move", json={})

    assert_error(foreign, 404)
    assert foreign.get_json() == missing.get_json()
    assert_error(bob.post("/tasks/not-a-uuid/move", json={}), 404)


@pytest.fixture(scope="module")
def busy_app(make_app):
    """The app with a rate limit no test of many requests reaches."""
    return make_app(API_RATE_LIMIT="1000000/minute")


@pytest.mark.no_pgbouncer(
    "the PostgreSQL pass makes the same moves, without a connection each"
)
def test_ten_thousand_moves_into_one_gap_all_work_and_keys_stay_short(busy_app):
    """Two tasks moved in turn right after the first: every move halves the same
    gap, so keys grow until the group is renumbered."""
    alice = User(busy_app.test_client(), new_user_id("alice"))
    t = tasks(alice, "first", "last", "x", "y")
    longest = 0
    for n in range(10_000):
        moved = move(alice, t["x" if n % 2 == 0 else "y"], after=t["first"]["id"])
        longest = max(longest, len(moved["position"]))
        if n in (2_500, 5_001, 9_999):
            expected = ["first", "x", "y", "last"] if n % 2 == 0 else [
                "first", "y", "x", "last"
            ]  # fmt: skip
            assert ordered(alice) == expected
    assert 10 < longest <= MAX_KEY_LENGTH


def test_siblings_with_equal_positions_are_renumbered_and_that_is_a_change(app, alice):
    """Two tasks appended at once may share a position: ids order them, and a
    move between them renumbers the group first."""
    t = tasks(alice, "a", "b", "c")
    with app.app_context():
        Session.execute(
            update(Task)
            .where(Task.id.in_([uuid.UUID(t["a"]["id"]), uuid.UUID(t["b"]["id"])]))
            .values(position=t["a"]["position"])
        )
        Session.commit()
    tied = sorted([t["a"], t["b"]], key=lambda task: task["id"])
    tags = {
        title: alice.get(f"/tasks/{t[title]['id']}").headers["ETag"] for title in "ab"
    }
    assert ordered(alice)[:2] == [task["title"] for task in tied]

    move(alice, t["c"], after=tied[0]["id"])

    first, second = tied[0]["title"], tied[1]["title"]
    assert ordered(alice) == [first, "c", second]
    positions = [task["position"] for task in alice.get("/tasks").get_json()]
    assert len(set(positions)) == 3
    # the renumbered one changed (the last of the group keeps its position)
    assert alice.get(f"/tasks/{t[first]['id']}").headers["ETag"] != tags[first]


def test_a_task_put_in_a_new_list_by_an_update_goes_last_there(alice):
    work = alice.create_list("Work")
    tasks(alice, "w1", "w2", list_id=work["id"])
    loose = alice.create(title="loose")

    alice.patch(f"/tasks/{loose['id']}", json={"list_id": work["id"]})

    assert ordered(alice, f"list_id={work['id']}") == ["w1", "w2", "loose"]


# Real concurrency, on a real gunicorn -------------------------------------------


def live_titles(user, query):
    response = user.request("GET", f"/tasks?sort=position&per_page=100&{query}")
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.postgres_only
def test_concurrent_moves_in_one_list_keep_every_task_once_in_order(live_server, race):
    alice = live_server.user("alice")
    made = alice.request("POST", "/lists", json={"name": "Busy"}).get_json()
    ids = [
        alice.request(
            "POST", "/tasks", json={"title": f"t{n}", "list_id": made["id"]}
        ).get_json()["id"]
        for n in range(12)
    ]
    rng = random.Random(17)
    calls = []
    for _ in range(3):
        for task_id in ids:
            other = rng.choice([i for i in ids if i != task_id])
            body = {rng.choice(["after", "before"]): other}
            calls.append(
                functools.partial(
                    alice.request, "POST", f"/tasks/{task_id}/move", json=body
                )
            )

    for batch in range(0, len(calls), 12):
        responses = race(calls[batch : batch + 12])
        assert {response.status_code for response in responses} == {200}

    listed = live_titles(alice, f"list_id={made['id']}")
    assert sorted(task["id"] for task in listed) == sorted(ids)
    keys = [(task["position"].encode(), uuid.UUID(task["id"])) for task in listed]
    assert keys == sorted(keys)  # the listing's order is (position, id)


@pytest.mark.postgres_only
def test_a_list_deleted_while_tasks_are_added_to_it_keeps_no_live_task(
    app, live_server, race
):
    alice = live_server.user("alice")
    for round_number in range(5):
        made = alice.request("POST", "/lists", json={"name": f"R{round_number}"})
        list_id = made.get_json()["id"]
        parent = alice.request(
            "POST", "/tasks", json={"title": "parent", "list_id": list_id}
        ).get_json()
        adds = [
            functools.partial(
                alice.request, "POST", "/tasks", json={"title": f"a{n}", **place}
            )
            for n, place in enumerate(
                [{"list_id": list_id}, {"parent_id": parent["id"]}] * 4
            )
        ]
        delete = functools.partial(alice.request, "DELETE", f"/lists/{list_id}")

        responses = race([*adds, delete])

        assert responses[-1].status_code == 204
        assert {r.status_code for r in responses[:-1]} <= {201, 422}
        with app.app_context():
            live = Session.execute(
                text(
                    "SELECT count(*) FROM tasks WHERE list_id = :list_id"
                    " AND deleted_at IS NULL"
                ),
                {"list_id": uuid.UUID(list_id)},
            ).scalar()
            Session.remove()
        assert live == 0


# The indexes: a 10,000-task list and a parent's subtasks ---------------------------

BIG = 10_000
# Without them the user's list is a third of the table, and counting it is
# cheaper by a sequential scan: not the table the indexes are for.
OTHER_USERS = 8
# A parent's few subtasks may be read by a bitmap scan and sorted, which is as
# good; with many, reading them in order from the index is what the planner must do.
SUBTASKS = 1_000


@pytest.fixture(scope="module")
def big_user(app):
    """One user with a 10,000-task list, as many tasks in the inbox, and a
    parent with 1,000 subtasks, among other users' tasks; loaded in SQL and
    analysed."""
    user_id = f"big-{uuid.uuid4().hex[:12]}"
    now = utcnow()
    big_list = uuid.uuid4()
    parent = uuid.uuid4()

    def rows(count, **fields):
        return [
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "title": f"task {n}",
                "status": "pending",
                "completed": False,
                "priority": 1,
                "tags": [],
                "position": key,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "list_id": None,
                "parent_id": None,
                **fields,
            }
            for n, key in enumerate(generate_n_keys_between(None, None, count))
        ]

    with app.app_context():
        Session.execute(
            insert(TaskList),
            [
                {
                    "id": big_list,
                    "user_id": user_id,
                    "name": "Big",
                    "name_key": "big",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            ],
        )
        Session.execute(insert(Task.__table__), rows(BIG))
        Session.execute(insert(Task.__table__), rows(BIG - 1, list_id=big_list))
        Session.execute(
            insert(Task.__table__),
            rows(1, id=parent, list_id=big_list, position="zz"),
        )
        Session.execute(
            insert(Task.__table__),
            rows(SUBTASKS, list_id=big_list, parent_id=parent),
        )
        for n in range(OTHER_USERS):  # the table is not this user's alone
            Session.execute(insert(Task.__table__), rows(BIG, user_id=f"{user_id}-{n}"))
        Session.commit()
        if on_postgres:  # what autovacuum does in time; the engine autocommits
            with get_engine(app).connect() as conn:
                conn.execute(text("VACUUM (ANALYZE) tasks, lists"))
        Session.remove()
    return user_id, str(big_list), str(parent)


def limited_scans(plan) -> list:
    """(node type, index) of the scans right under a Limit: the page's rows."""
    found = []
    if plan["Node Type"] == "Limit":
        # not an InitPlan's (the named list's owner, core/scope.py)
        child = next(
            child
            for child in plan["Plans"]
            if child.get("Parent Relationship") == "Outer"
        )
        found.append((child["Node Type"], child.get("Index Name")))
    for child in plan.get("Plans", []):
        found.extend(limited_scans(child))
    return found


@pytest.mark.postgres_only
@pytest.mark.parametrize("what", ["list", "top-level of the list", "subtasks"])
def test_a_big_list_and_a_parents_subtasks_are_read_by_index(
    app, client, big_user, what, capsys
):
    """EXPLAIN of the listing's own statement, as the app sent it."""
    user_id, list_id, parent = big_user
    query = {
        "list": f"list_id={list_id}&sort=position",
        "top-level of the list": f"list_id={list_id}&parent_id=none&sort=position",
        "subtasks": f"parent_id={parent}&sort=position",
    }[what]
    headers = bearer(make_token(user_id))
    response, plan = explain_last_statement(
        app, lambda: client.get(f"/api/tasks?{query}", headers=headers)
    )
    assert response.status_code == 200
    nodes = plan_nodes(plan)
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        client.get(f"/api/tasks?{query}", headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
    with capsys.disabled():
        print(
            f"\n{what}: {query.split('&sort')[0][:20]}... plan {nodes}; "
            f"median {statistics.median(timings):.1f} ms per request"
        )

    # The lists table is a few rows here, and a seq scan of it is the planner's
    # right choice; the tasks table must never be read whole.
    assert ("Seq Scan", "tasks") not in nodes, nodes
    # a parent's subtasks are in position order in both of these (migration 0012)
    indexes = (
        ("ix_tasks_parent_position", "ix_tasks_parent")
        if what == "subtasks"
        else ("ix_tasks_list_position", "ix_tasks_user_list_position")
    )
    # the page is read in order from the index, no sort of the list's tasks
    assert limited_scans(plan) in [
        [(scan, index)]
        for scan in ("Index Scan", "Index Only Scan")
        for index in indexes
    ], nodes


@pytest.mark.postgres_only
def test_a_create_in_a_big_inbox_finds_the_last_position_by_index(
    app, client, big_user
):
    """The create's INSERT finds the last position among the inbox's tasks by
    reading one entry of ix_tasks_inbox_position, not by sorting them all."""
    user_id, _, _ = big_user
    headers = bearer(make_token(user_id))
    response, plan = explain_last_statement(
        app,
        lambda: client.post("/api/tasks", json={"title": "one more"}, headers=headers),
        nth=0,
    )
    assert response.status_code == 201
    nodes = plan_nodes(plan)
    assert not any(node == "Sort" for node, _ in nodes), nodes
    assert limited_scans(plan) in (
        [("Index Scan", "ix_tasks_inbox_position")],
        [("Index Only Scan", "ix_tasks_inbox_position")],
    ), nodes


def test_a_create_is_one_statement_in_the_inbox(app, alice):
    with sent_statements(app) as sent:
        alice.create()

    assert len(sent) == 1


def test_the_databases_append_position_is_the_packages(app):
    """task_position_after (PostgreSQL's own, SQLite's registered) gives the key
    fractional_indexing puts after any key, however long the order has grown."""
    rng = random.Random(7)
    keys = [None, "a0", "az", "Zz", "bzz", "Yzz", "A" + "z" * 26, "b0V"]
    keys += ["z" * 27, "z" * 27 + "V", "z" * 27 + "zzk", "z" * 27 + "0z"]
    key = None
    for _ in range(300):  # appends, then keys between random neighbours
        key = generate_key_between(key, None)
        keys.append(key)
    for _ in range(300):
        low, high = sorted(rng.sample(keys[12:], 2))
        keys.append(generate_key_between(low, high))
    with app.app_context():
        found = [
            Session.execute(
                text("SELECT task_position_after(:key)"), {"key": k}
            ).scalar()
            for k in keys
        ]
        Session.remove()

    assert found == [generate_key_between(k, None) for k in keys]
