"""The change feed across shared lists: gaining a list reports it and all its
tasks, losing one reports them deleted, a task that leaves for a place a member
does not see is deleted for them, and a client that follows the feed holds
exactly what the listings show (decision 0024)."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from taskapi.changes.models import TaskDeparture
from taskapi.core.columns import utcnow
from taskapi.core.db import Session, get_engine
from taskapi.core.memberships import Membership
from taskapi.tasks.models import Task
from tests.support.changes import client_of, full_read
from tests.support.responses import assert_error
from tests.support.sharing import remove, share, shared_list
from tests.support.sql import explain_last_statement, plan_nodes, sent_statements


def reads(user):
    return lambda path: (200, user.get(path).get_json())


def holds_what_the_listings_show(user, sync) -> None:
    assert (sync.tasks, sync.lists) == full_read(reads(user))


def test_gaining_a_list_reports_it_and_all_its_live_tasks(alice, bob):
    family = shared_list(alice, "Family")
    tasks = [alice.create(title=f"t{n}", list_id=family["id"]) for n in range(4)]
    child = alice.create(title="child", parent_id=tasks[0]["id"])
    gone = alice.create(title="gone", list_id=family["id"])
    alice.delete(f"/tasks/{gone['id']}")
    alice.create(title="alice's inbox")
    sync = client_of(bob)
    sync.sync()
    share(alice, family["id"], bob, "viewer")
    page = sync.sync(limit=2)
    assert set(sync.tasks) == {t["id"] for t in tasks} | {child["id"]}
    assert sync.lists[family["id"]]["role"] == "viewer"
    assert sync.lists[family["id"]]["member_count"] == 2
    assert page["deleted_tasks"] == [] and page["has_more"] is False
    holds_what_the_listings_show(bob, sync)


@pytest.mark.parametrize("how", ["removed", "left", "list deleted"])
def test_losing_a_list_reports_it_and_its_tasks_deleted(alice, bob, how):
    family = shared_list(alice, "Family", members=[bob])
    tasks = [alice.create(title=f"t{n}", list_id=family["id"]) for n in range(3)]
    mine = bob.create(title="bob's own")
    sync = client_of(bob)
    sync.sync()
    assert set(sync.tasks) == {t["id"] for t in tasks} | {mine["id"]}
    if how == "removed":
        remove(alice, family["id"], bob.id)
    elif how == "left":
        remove(bob, family["id"], bob.id)
    else:
        assert alice.delete(f"/lists/{family['id']}").status_code == 204
    page = sync.sync()
    assert page["deleted_lists"] == [family["id"]]
    assert sorted(page["deleted_tasks"]) == sorted(t["id"] for t in tasks)
    assert list(sync.tasks) == [mine["id"]] and sync.lists == {}
    holds_what_the_listings_show(bob, sync)


def test_a_task_a_member_moves_into_their_inbox_is_deleted_for_the_others(
    client, alice, bob
):
    from tests.support.users import User

    carol = User(client, f"carol-{uuid.uuid4().hex[:12]}")
    family = shared_list(alice, "Family", members=[bob, carol])
    moved = alice.create(title="moved", list_id=family["id"])
    kept = alice.create(title="kept", list_id=family["id"])
    syncs = {user.id: (user, client_of(user)) for user in (alice, bob, carol)}
    for _, sync in syncs.values():
        sync.sync()
    response = bob.post(f"/tasks/{moved['id']}/move", json={"list_id": None})
    assert response.status_code == 200, response.get_json()
    for user in (alice, carol):
        page = syncs[user.id][1].sync()
        assert page["deleted_tasks"] == [moved["id"]], user.id
        assert set(syncs[user.id][1].tasks) == {kept["id"]}
    page = syncs[bob.id][1].sync()
    assert [t["id"] for t in page["tasks"]] == [moved["id"]]
    assert page["tasks"][0]["list_id"] is None and page["deleted_tasks"] == []
    for user, sync in syncs.values():
        holds_what_the_listings_show(user, sync)


def test_a_task_moved_into_a_list_another_member_is_not_in(alice, bob, client):
    from tests.support.users import User

    carol = User(client, f"carol-{uuid.uuid4().hex[:12]}")
    family = shared_list(alice, "Family", members=[bob, carol])
    bobs = bob.create_list("Bob's")
    task = alice.create(title="t", list_id=family["id"])
    sync = client_of(carol)
    sync.sync()
    response = bob.post(f"/tasks/{task['id']}/move", json={"list_id": bobs["id"]})
    assert response.status_code == 200, response.get_json()
    assert sync.sync()["deleted_tasks"] == [task["id"]]
    holds_what_the_listings_show(carol, sync)


def test_a_first_sync_of_a_member_holds_every_list_they_see(client, alice, bob):
    from tests.support.users import User

    carol = User(client, f"carol-{uuid.uuid4().hex[:12]}")
    family = shared_list(alice, "Family", members=[bob])
    work = shared_list(carol, "Work", members=[bob], role="viewer")
    for n in range(5):
        alice.create(title=f"a{n}", list_id=family["id"])
        carol.create(title=f"c{n}", list_id=work["id"])
        bob.create(title=f"b{n}")
    alice.create(title="not shared")
    sync = client_of(bob)
    sync.sync(limit=4)
    assert len(sync.tasks) == 15 and set(sync.lists) == {family["id"], work["id"]}
    holds_what_the_listings_show(bob, sync)


def test_rejoining_reports_the_list_again_with_what_changed_meanwhile(alice, bob):
    family = shared_list(alice, "Family", members=[bob])
    done = alice.create(title="deleted while away", list_id=family["id"])
    stays = alice.create(title="stays", list_id=family["id"])
    sync = client_of(bob)
    sync.sync()
    remove(alice, family["id"], bob.id)
    alice.delete(f"/tasks/{done['id']}")
    alice.patch(f"/tasks/{stays['id']}", json={"title": "renamed"})
    share(alice, family["id"], bob)  # between two polls: never seen as lost
    page = sync.sync()
    assert page["deleted_tasks"] == [done["id"]]
    assert sync.tasks[stays["id"]]["title"] == "renamed"
    holds_what_the_listings_show(bob, sync)


def test_member_count_and_role_follow_membership_changes(client, alice, bob):
    from tests.support.users import User

    carol = User(client, f"carol-{uuid.uuid4().hex[:12]}")
    family = shared_list(alice, "Family", members=[bob])
    syncs = [(user, client_of(user)) for user in (alice, bob)]
    for _, sync in syncs:
        sync.sync()
    share(alice, family["id"], carol)
    response = alice.patch(
        f"/lists/{family['id']}/members/{bob.id}", json={"role": "viewer"}
    )
    assert response.status_code == 200, response.get_json()
    for user, sync in syncs:
        sync.sync()
        assert sync.lists[family["id"]]["member_count"] == 3
        holds_what_the_listings_show(user, sync)
    assert syncs[1][1].lists[family["id"]]["role"] == "viewer"


def member_of_several_lists(client, alice, bob, count=4):
    from tests.support.users import User

    for n in range(count):
        owner = alice if n % 2 else User(client, f"owner-{uuid.uuid4().hex[:12]}")
        shared = shared_list(owner, f"Shared {n}", members=[bob])
        owner.create(title=f"t{n}", list_id=shared["id"])
    bob.create(title="bob's own")
    sync = client_of(bob)
    sync.sync()
    return sync


def test_an_empty_poll_of_a_member_of_several_lists_is_one_statement(
    app, client, alice, bob
):
    sync = member_of_several_lists(client, alice, bob)
    with sent_statements(app) as sent:
        page = sync.sync()
    assert page["tasks"] == [] and page["lists"] == [] and len(sent) == 1, sent


@pytest.mark.postgres_only
def test_an_empty_poll_of_a_member_reads_indexes_only(app, client, alice, bob):
    sync = member_of_several_lists(client, alice, bob)
    # new connections: the statement prepared anew, not a generic plan cached
    # while seq scans were allowed (tiny tables)
    get_engine(app).dispose()
    _, plan = explain_last_statement(app, sync.sync, seqscan=False)
    nodes = plan_nodes(plan)
    # sync_state is one row (the purge mark), read whole
    scanned = [node for node in nodes if node[0] == "Seq Scan"]
    assert scanned == [("Seq Scan", "sync_state")], json.dumps(plan)
    read = {name for _, name in nodes}
    assert {"ix_tasks_user_change", "ix_list_members_user"} <= read, read
    assert "ix_task_departures_list" in read, read


# purge-deleted ------------------------------------------------------------------


def purge(app, days=30):
    result = app.test_cli_runner().invoke(
        args=["purge-deleted", "--older-than", str(days)]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_purge_removes_old_ended_memberships_and_a_cursor_older_answers_410(
    app, alice, bob, purge_mark
):
    family = shared_list(alice, "Family", members=[bob])
    sync = client_of(bob)
    sync.sync()
    remove(bob, family["id"], bob.id)
    before_purge = sync.cursor
    with app.app_context():
        Session.execute(
            update(Membership)
            .where(Membership.user_id == bob.id)
            .values(left_at=utcnow() - timedelta(days=40))
        )
        Session.commit()
    assert "1 ended membership(s)" in purge(app)
    with app.app_context():
        left = Session.scalars(select(Membership).where(Membership.user_id == bob.id))
        assert left.all() == []
    body = assert_error(bob.get(f"/changes?cursor={before_purge}"), 410)
    assert "sync again" in body["detail"]
    fresh = client_of(bob)
    fresh.sync()
    holds_what_the_listings_show(bob, fresh)


def test_purge_keeps_recent_departures_and_removes_old_ones(
    app, alice, bob, purge_mark
):
    family = shared_list(alice, "Family", members=[bob])
    old = alice.create(title="old", list_id=family["id"])
    recent = alice.create(title="recent", list_id=family["id"])
    sync = client_of(alice)
    sync.sync()
    for task in (old, recent):
        response = bob.post(f"/tasks/{task['id']}/move", json={"list_id": None})
        assert response.status_code == 200, response.get_json()
    with app.app_context():
        Session.execute(
            update(Task)
            .where(Task.id == uuid.UUID(old["id"]))
            .values(updated_at=utcnow() - timedelta(days=40))
        )
        Session.commit()
    purge(app)
    with app.app_context():
        kept = Session.scalars(
            select(TaskDeparture.task_id).where(
                TaskDeparture.list_id == uuid.UUID(family["id"])
            )
        ).all()
    assert [str(task_id) for task_id in kept] == [recent["id"]]
    assert_error(alice.get(f"/changes?cursor={sync.cursor}"), 410)
