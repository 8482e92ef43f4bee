"""Webhooks of shared lists (CONTRACT "Shared lists"): every user who sees a task
when it changes hears of it (owner, editor, viewer), with the `actor` who made
the change; a member removed or gone hears nothing more of the list; reminder.due
goes to the task's assignee, else its creator. A real worker process and
receivers on loopback that verify every signature."""

import uuid

import pytest
from sqlalchemy import text

from taskapi.core.db import get_engine
from tests.support.sharing import remove, share, shared_list
from tests.support.users import User, new_user_id
from tests.support.webhook_receiver import Receiver
from tests.support.webhooks import at, hook_up, pending_events, received, worker

pytestmark = pytest.mark.postgres_only


def recorded(app, webhook_id: str) -> list:
    """(type, task id, actor) of the webhook's undelivered events, oldest first."""
    with get_engine(app).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT type, task_id, actor FROM webhook_events"
                " WHERE webhook_id = :webhook ORDER BY id"
            ),
            {"webhook": uuid.UUID(webhook_id)},
        ).all()
    return [(kind, str(task_id), actor) for kind, task_id, actor in rows]


def test_the_owner_and_a_member_both_hear_a_change_with_who_made_it(
    app, alice, bob, database_uri, logs
):
    family = shared_list(alice, members=[bob])
    alices, bobs = Receiver(), Receiver()
    hook_up(alice, alices)
    bobs_hook = hook_up(bob, bobs)
    task = bob.create(title="Milk", list_id=family["id"])
    changed = alice.patch(
        f"/tasks/{task['id']}", json={"title": "Oat milk", "assignee_id": bob.id}
    )
    assert changed.status_code == 200, changed.get_json()
    inbox = alice.create(title="Alice's own")  # bob does not see it
    assert [kind for kind, *_ in recorded(app, bobs_hook)] == [
        "task.created",
        "task.updated",
    ]
    with worker(database_uri, logs):
        received(alices, 3, logs)
        received(bobs, 2, logs)
    now = alice.get(f"/tasks/{task['id']}").get_json()
    assert bob.get(f"/tasks/{task['id']}").get_json() == now
    assert now["created_by"] == bob.id and now["assignee_id"] == bob.id
    for receiver in (alices, bobs):
        created, updated = [
            e for e in receiver.events if e["data"]["task"]["id"] == task["id"]
        ]
        assert (created["type"], created["actor"]) == ("task.created", bob.id)
        assert (updated["type"], updated["actor"]) == ("task.updated", alice.id)
        # the task exactly as the REST API answers it: changed_by is not shown
        assert created["data"]["task"] == task
        assert updated["data"]["task"] == now
    assert inbox["id"] not in str(bobs.events)


@pytest.mark.parametrize("leaving", ["removed", "left"])
def test_a_member_gone_from_the_list_hears_nothing_more_of_it(
    app, alice, bob, database_uri, logs, leaving
):
    family = shared_list(alice, members=[bob])
    alices, bobs = Receiver(), Receiver()
    hook_up(alice, alices)
    bobs_hook = hook_up(bob, bobs)
    heard = alice.create(title="Heard", list_id=family["id"])
    remove(alice if leaving == "removed" else bob, family["id"], bob.id)
    alice.patch(f"/tasks/{heard['id']}", json={"title": "Unheard"})
    unheard = alice.create(title="Unheard too", list_id=family["id"])
    alice.patch(f"/tasks/{unheard['id']}", json={"completed": True})
    alice.delete(f"/tasks/{heard['id']}")
    own = bob.create(title="Bob's own")
    assert recorded(app, bobs_hook) == [
        ("task.created", heard["id"], alice.id),
        ("task.created", own["id"], bob.id),
    ]
    with worker(database_uri, logs):
        received(alices, 5, logs)
        received(bobs, 2, logs)
    # stopped: whatever was in flight has arrived
    assert sorted(e["data"]["task"]["title"] for e in bobs.events) == [
        "Bob's own",
        "Heard",
    ]
    assert pending_events(app, bobs_hook) == []


def test_a_viewer_hears_the_changes_of_the_tasks_it_sees(
    alice, bob, database_uri, logs
):
    family = shared_list(alice, members=[bob], role="viewer")
    bobs = Receiver()
    hook_up(bob, bobs, events=["task.created", "task.completed"])
    task = alice.create(title="Bread", list_id=family["id"])
    alice.patch(f"/tasks/{task['id']}", json={"completed": True})
    with worker(database_uri, logs):
        events = received(bobs, 2, logs)
    assert [(e["type"], e["actor"]) for e in events] == [
        ("task.created", alice.id),
        ("task.completed", alice.id),
    ]


def test_reminder_due_goes_to_the_assignees_webhooks_else_the_creators(
    app, alice, bob, client, database_uri, logs
):
    carol = User(client, new_user_id("carol"))
    family = shared_list(alice, members=[bob])
    share(alice, family["id"], carol, "viewer")
    receivers = {user.id: Receiver() for user in (alice, bob, carol)}
    hooks = {
        user.id: hook_up(user, receivers[user.id], events=["reminder.due"])
        for user in (alice, bob, carol)
    }
    with worker(database_uri, logs):
        alice.create(
            title="Carol's turn",
            list_id=family["id"],
            assignee_id=carol.id,
            reminders=[{"at": at(2)}],
        )
        bob.create(title="Bob's", list_id=family["id"], reminders=[{"at": at(2)}])
        received(receivers[carol.id], 1, logs)
        received(receivers[bob.id], 1, logs)
        # later than both: by then they have fired, to whomever they went
        alice.create(title="Alice's", reminders=[{"at": at(3)}])
        received(receivers[alice.id], 1, logs)
    titles = {
        user_id: [e["data"]["task"]["title"] for e in receiver.events]
        for user_id, receiver in receivers.items()
    }
    assert titles == {
        alice.id: ["Alice's"],
        bob.id: ["Bob's"],
        carol.id: ["Carol's turn"],
    }
    assert all(
        e["actor"] is None for receiver in receivers.values() for e in receiver.events
    )
    assert all(pending_events(app, hook) == [] for hook in hooks.values())
