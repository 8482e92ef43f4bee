"""A member's listing: the tasks of their own places and of every list shared
with them, one total over all of them, kept right as tasks come and go; on
PostgreSQL each list's page is read from an index, never sorted whole."""

import uuid
from datetime import datetime

import pytest
from fractional_indexing import generate_n_keys_between
from sqlalchemy import insert, text

from taskapi.core.columns import utcnow
from taskapi.core.db import Session, get_engine
from taskapi.core.memberships import Membership
from taskapi.lists.models import TaskList
from taskapi.tasks.models import Task
from tests.support.environment import on_postgres
from tests.support.sharing import remove, shared_list
from tests.support.sql import explain_last_statement, plan_nodes
from tests.support.users import bearer, make_token


def every_task(user):
    """All pages of the user's listing: the tasks, and the total each page told."""
    seen, totals, page = [], set(), 1
    while True:
        answer = user.get(f"/tasks?per_page=7&page={page}")
        assert answer.status_code == 200, answer.get_json()
        totals.add(int(answer.headers["X-Total-Count"]))
        seen += answer.get_json()
        if len(answer.get_json()) < 7:
            return seen, totals
        page += 1


def test_a_members_listing_holds_their_places_and_the_shared_lists(users_on):
    alice, bob, carol = (users_on(n) for n in ("alice", "bob", "carol"))
    groceries = shared_list(alice, "Groceries", members=[bob])
    work = shared_list(carol, "Work", members=[bob], role="viewer")
    made = []
    for user, list_id, count in ((alice, groceries["id"], 5), (carol, work["id"], 6),
                                 (bob, None, 4), (alice, None, 3)):  # fmt: skip
        for n in range(count):
            body = {"title": f"{user.id} {n}", "list_id": list_id}
            made.append(user.post("/tasks", json=body).get_json())
    expected = {t["id"] for t in made if t["list_id"] or t["user_id"] == bob.id}

    seen, totals = every_task(bob)
    newest_first = sorted(
        (t for t in made if t["id"] in expected),
        key=lambda t: (datetime.fromisoformat(t["created_at"]), t["id"]),
        reverse=True,
    )
    assert [t["id"] for t in seen] == [t["id"] for t in newest_first]
    assert totals == {15}

    # the total follows deletes, moves out of a list and leaving
    gone = next(t for t in made if t["list_id"] == groceries["id"])
    assert alice.delete(f"/tasks/{gone['id']}").status_code == 204
    taken = next(t for t in made if t["list_id"] == groceries["id"] and t != gone)
    alice.patch(f"/tasks/{taken['id']}", json={"list_id": None})
    assert every_task(bob)[1] == {13}
    remove(bob, work["id"], bob.id)
    seen, totals = every_task(bob)
    assert totals == {7} and len(seen) == 7


BIG, LISTS_SHARED = 3000, 4


@pytest.fixture(scope="module")
def member_of_big_lists(app):
    """A member of 4 lists of 3,000 tasks, each of another owner who has as
    many more in their inbox; loaded in SQL and analysed."""
    member = f"member-{uuid.uuid4().hex[:12]}"
    now = utcnow()
    keys = generate_n_keys_between(None, None, BIG)
    with app.app_context():
        for n in range(LISTS_SHARED):
            owner, list_id = f"{member}-owner-{n}", uuid.uuid4()
            Session.execute(
                insert(TaskList),
                [{"id": list_id, "user_id": owner, "name": "Big", "name_key": "big",
                  "created_at": now, "updated_at": now, "version": 1}],
            )  # fmt: skip
            Session.execute(
                insert(Membership),
                [{"list_id": list_id, "user_id": member, "role": "editor",
                  "joined_at": now}],
            )  # fmt: skip
            for place in (list_id, None):
                Session.execute(
                    insert(Task.__table__),
                    [
                        {"id": uuid.uuid4(), "user_id": owner, "created_by": owner,
                         "title": f"task {i}", "status": "pending", "completed": False,
                         "priority": i % 4, "tags": [], "position": key,
                         "created_at": now, "updated_at": now, "version": 1,
                         "list_id": place}
                        for i, key in enumerate(keys)
                    ],
                )  # fmt: skip
        Session.commit()
        if on_postgres:
            with get_engine(app).connect() as conn:
                conn.execute(text("VACUUM (ANALYZE) tasks, lists, list_members"))
        Session.remove()
    return member


def sorts_of_tasks(plan) -> list:
    """Sort nodes that read many tasks straight from a scan (a list sorted
    whole; the member's own places hold none here)."""
    found = []
    if plan["Node Type"] == "Sort":
        child = plan["Plans"][0]
        scan = "Scan" in child["Node Type"] and child.get("Relation Name") == "tasks"
        if scan and child["Plan Rows"] > 100:
            found.append(child["Node Type"])
    for child in plan.get("Plans", []):
        found += sorts_of_tasks(child)
    return found


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "sort",
    [
        "-created_at",
        "updated_at",
        "priority",
        "position",
        "due_date",
        "-due_date",
        "title",
    ],
)
def test_a_members_page_is_read_by_index_from_each_list(
    app, client, member_of_big_lists, sort
):
    headers = bearer(make_token(member_of_big_lists))
    response, plan = explain_last_statement(
        app, lambda: client.get(f"/api/tasks?per_page=20&sort={sort}", headers=headers)
    )
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == str(BIG * LISTS_SHARED)
    nodes = plan_nodes(plan)
    assert ("Seq Scan", "tasks") not in nodes, nodes
    assert sorts_of_tasks(plan) == [], nodes
