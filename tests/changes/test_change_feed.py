"""Sync across devices: a client that follows GET /changes holds exactly what the
listings show, and no change is ever skipped, also when transactions commit out of
order."""

import json
import random
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from taskapi.core.columns import utcnow
from taskapi.core.db import Session, get_engine
from taskapi.tasks.models import Task
from tests.support.changes import client_of, full_read
from tests.support.responses import assert_error
from tests.support.sql import explain_last_statement, sent_statements


def test_a_first_sync_pages_through_everything_live_then_polls_are_empty(users_on):
    alice = users_on("alice")
    made = [alice.create(title=f"t{n}")["id"] for n in range(7)]
    gone = alice.create(title="gone")
    alice.delete(f"/tasks/{gone['id']}")
    garden = alice.create_list("Garden")
    sync = client_of(alice)
    last = sync.sync(limit=3)
    assert sync.pages == 3  # 3 + 3 + 1 task and the list
    assert sorted(sync.tasks) == sorted(made) and list(sync.lists) == [garden["id"]]
    assert last["deleted_tasks"] == [] and last["has_more"] is False
    empty = sync.sync()
    assert empty == {**empty, "tasks": [], "deleted_tasks": [], "lists": []}
    assert empty["deleted_lists"] == [] and empty["has_more"] is False


def test_changes_deletions_subtasks_and_list_deletion_come_through(alice):
    sync = client_of(alice)
    sync.sync()
    garden = alice.create_list("Garden")
    parent = alice.create(title="Parent", list_id=garden["id"])
    child = alice.create(title="Child", parent_id=parent["id"])
    loose = alice.create(title="Loose")
    sync.sync()
    assert set(sync.tasks) == {parent["id"], child["id"], loose["id"]}
    alice.patch(f"/tasks/{loose['id']}", json={"title": "Renamed"})
    alice.patch(f"/tasks/{loose['id']}/complete")
    alice.post(f"/tasks/{loose['id']}/move", json={"list_id": garden["id"]})
    alice.delete(f"/tasks/{parent['id']}")  # its subtask goes with it
    page = sync.sync()
    assert sorted(page["deleted_tasks"]) == sorted([parent["id"], child["id"]])
    assert sync.tasks[loose["id"]]["title"] == "Renamed"
    assert sync.tasks[loose["id"]]["completed"] is True
    assert sync.tasks[loose["id"]]["list_id"] == garden["id"]
    alice.delete(f"/lists/{garden['id']}")  # and every task in it
    page = sync.sync()
    assert page["deleted_lists"] == [garden["id"]] and page["deleted_tasks"] == [
        loose["id"]
    ]
    assert sync.tasks == {} and sync.lists == {}
    assert (sync.tasks, sync.lists) == full_read(
        lambda p: (200, alice.get(p).get_json())
    )


def test_a_page_full_of_tasks_hands_the_lists_to_the_next_one(alice):
    sync = client_of(alice)
    sync.sync()
    garden = alice.create_list("Garden")
    made = [alice.create(title=f"t{n}")["id"] for n in range(3)]
    first = sync.sync(limit=3)  # the last page: the list
    assert sync.pages == 3 and first["lists"] == [garden]
    assert sorted(sync.tasks) == sorted(made) and list(sync.lists) == [garden["id"]]


def test_each_task_comes_once_per_page_in_its_latest_state(alice):
    sync = client_of(alice)
    sync.sync()
    task = alice.create(title="v1")
    for n in range(2, 5):
        alice.put(f"/tasks/{task['id']}", json={"title": f"v{n}"})
    page = sync.sync()
    assert [t["title"] for t in page["tasks"]] == ["v4"]


def test_another_users_changes_never_appear_and_their_cursor_is_refused(alice, bob):
    bobs = client_of(bob)
    bobs.sync()
    alice.create(title="Alice's")
    alice.create_list("Alice's list")
    assert bobs.sync()["tasks"] == [] and bobs.lists == {}
    alices = client_of(alice)
    alices.sync()
    refused = bob.get(f"/changes?cursor={alices.cursor}")
    body = assert_error(refused, 422)
    assert "cursor" in body["errors"]["query"]


@pytest.mark.parametrize(
    "cursor",
    ["abc", "", "%00", "A" * 300, "eyJ0eXAiOiJKV1QifQ", "not base64 !!"],
)
def test_forged_cursors_are_422_on_cursor(alice, cursor):
    body = assert_error(alice.get(f"/changes?cursor={cursor}"), 422)
    assert "cursor" in body["errors"]["query"]


def test_a_tampered_cursor_is_422(alice):
    sync = client_of(alice)
    sync.sync()
    cursor = sync.cursor
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    assert_error(alice.get(f"/changes?cursor={flipped}"), 422)


@pytest.mark.parametrize("limit", ["0", "501", "-1", "x", "1.5"])
def test_limit_is_1_to_500(alice, limit):
    body = assert_error(alice.get(f"/changes?limit={limit}"), 422)
    assert "limit" in body["errors"]["query"]


def test_a_cursor_older_than_a_purge_is_410(app, alice, purge_mark):
    sync = client_of(alice)
    doomed = alice.create(title="doomed")
    sync.sync()
    alice.delete(f"/tasks/{doomed['id']}")
    with app.app_context():
        Session.execute(
            update(Task)
            .where(Task.id == uuid.UUID(doomed["id"]))
            .values(deleted_at=utcnow() - timedelta(days=40))
        )
        Session.commit()
    result = app.test_cli_runner().invoke(args=["purge-deleted", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    body = assert_error(alice.get(f"/changes?cursor={sync.cursor}"), 410)
    assert "sync again" in body["detail"]
    fresh = client_of(alice)
    fresh.sync()  # from scratch works
    assert doomed["id"] not in fresh.tasks
    assert fresh.sync()["has_more"] is False  # and its cursor is good


def test_an_empty_poll_is_one_statement(app, alice):
    sync = client_of(alice)
    alice.create(title="t")
    sync.sync()
    with sent_statements(app) as sent:
        page = sync.sync()
    assert page["tasks"] == [] and len(sent) == 1, sent


@pytest.mark.postgres_only
def test_an_empty_poll_reads_the_change_index(app, alice):
    sync = client_of(alice)
    for n in range(3):
        alice.create(title=f"t{n}")
    sync.sync()
    _, plan = explain_last_statement(app, sync.sync, seqscan=False)  # tiny tables
    text_plan = json.dumps(plan)
    assert "ix_tasks_user_change" in text_plan and "ix_lists_user_change" in text_plan


@pytest.mark.postgres_only
def test_a_transaction_that_commits_after_a_later_one_was_read_is_not_skipped(
    app, alice
):
    """The out-of-order commit: T1 writes first (smaller id) but commits after T2
    has been read. A feed keyed on "the highest number seen" skips T1's change."""
    first = alice.create(title="first")
    second = alice.create(title="second")
    sync = client_of(alice)
    sync.sync()
    engine = get_engine(app)
    with engine.connect() as t1, engine.connect() as t2:
        t1.execute(text("BEGIN"))
        t1.execute(
            text(
                "UPDATE tasks SET title = 'by T1', version = version + 1 WHERE id = :i"
            ),
            {"i": first["id"]},
        )
        t2.execute(text("BEGIN"))
        t2.execute(
            text(
                "UPDATE tasks SET title = 'by T2', version = version + 1 WHERE id = :i"
            ),
            {"i": second["id"]},
        )
        t2.execute(text("COMMIT"))
        seen = sync.sync()
        assert [t["title"] for t in seen["tasks"]] == ["by T2"]
        naive_mark = t2.execute(
            text("SELECT max(change_xid) FROM tasks WHERE user_id = :u"),
            {"u": alice.id},
        ).scalar()
        t1.execute(text("COMMIT"))
    # the naive design: rows numbered above the highest number seen so far
    with engine.connect() as conn:
        naive = (
            conn.execute(
                text("SELECT title FROM tasks WHERE user_id = :u AND change_xid > :m"),
                {"u": alice.id, "m": naive_mark},
            )
            .scalars()
            .all()
        )
    assert naive == []  # T1's change is lost to it
    page = sync.sync()
    assert [t["title"] for t in page["tasks"]] == ["by T1"]  # not to the feed
    assert sync.tasks[first["id"]]["title"] == "by T1"


@pytest.mark.postgres_only
@pytest.mark.parametrize("run", range(3))
def test_a_sync_client_ends_equal_to_a_full_read_under_concurrent_writers(
    live_server, run
):
    alice = live_server.user(f"syncer{run}")
    sync = client_of(alice)
    sync.sync()
    stop = time.monotonic() + 4
    errors = []

    def writer(seed):
        rng = random.Random(seed)
        mine, lists = [], []
        try:
            while time.monotonic() < stop:
                action = rng.random()
                if action < 0.1 or not lists:
                    made = alice.request(
                        "POST", "/lists", json={"name": f"l{seed}-{rng.random()}"}
                    )
                    if made.status_code == 201:
                        lists.append(made.get_json()["id"])
                elif action < 0.45 or not mine:
                    body = {"title": f"w{seed}"}
                    if rng.random() < 0.5:
                        body["list_id"] = rng.choice(lists)
                    made = alice.request("POST", "/tasks", json=body)
                    if made.status_code == 201:
                        mine.append(made.get_json()["id"])
                elif action < 0.65:
                    alice.request(
                        "PATCH", f"/tasks/{rng.choice(mine)}", json={"title": "edited"}
                    )
                elif action < 0.8:
                    alice.request("PATCH", f"/tasks/{rng.choice(mine)}/complete")
                elif action < 0.9:
                    alice.request(
                        "POST",
                        f"/tasks/{rng.choice(mine)}/move",
                        json={"list_id": rng.choice(lists)},
                    )
                elif action < 0.97:
                    alice.request(
                        "DELETE", f"/tasks/{mine.pop(rng.randrange(len(mine)))}"
                    )
                else:
                    alice.request("DELETE", f"/lists/{lists.pop()}")
        except Exception as error:  # reported below, with the thread's seed
            errors.append((seed, error))

    threads = [threading.Thread(target=writer, args=(run * 10 + n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        sync.sync(limit=20)
    for thread in threads:
        thread.join()
    assert errors == []
    sync.sync(limit=20)
    assert (sync.tasks, sync.lists) == full_read(sync.get)
    assert len(sync.tasks) > 10
