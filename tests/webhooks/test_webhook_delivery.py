"""Webhook deliveries by a real worker process (`flask --app wsgi
deliver-webhooks`) to a real receiver on loopback that verifies every signature:
events in order with the task as it was, none for a change that rolled back,
retries, the end of the retry window, two workers, a worker killed (the event
comes back after its lease) or stopped mid-delivery, reminders, and internal
addresses refused at delivery. Hostile receivers and fairness:
test_webhook_worker.py and test_webhook_fairness.py."""

import signal
import threading
import uuid

import pytest
from sqlalchemy import text

from taskapi.core.db import get_engine
from tests.support.responses import assert_error
from tests.support.servers import wait_until
from tests.support.users import User, new_user_id
from tests.support.webhook_receiver import Receiver, webhook_worker
from tests.support.webhooks import at, hook_up, received, worker

pytestmark = pytest.mark.postgres_only


def test_every_change_arrives_in_order_with_the_task_as_it_was(
    app, alice, database_uri, logs
):
    receiver = Receiver()
    hook_up(alice, receiver)
    task = alice.create(title="Draft")
    # a rolled-back change: If-Match of another version -> 412, no event
    stale = alice.patch(
        f"/tasks/{task['id']}", json={"title": "Lost"}, headers={"If-Match": '"x"'}
    )
    assert_error(stale, 412)
    assert (
        alice.patch(f"/tasks/{task['id']}", json={"title": "Final"}).status_code == 200
    )
    assert (
        alice.patch(f"/tasks/{task['id']}", json={"completed": True}).status_code == 200
    )
    assert (
        alice.patch(f"/tasks/{task['id']}", json={"completed": False}).status_code
        == 200
    )
    child = alice.create(title="Child", parent_id=task["id"])
    assert alice.delete(f"/tasks/{task['id']}").status_code == 204

    with webhook_worker(database_uri, logs):
        events = received(receiver, 7, logs)
    mine = [e for e in events if e["data"]["task"]["id"] == task["id"]]
    assert [e["type"] for e in mine] == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.updated",
        "task.deleted",
    ]
    assert [e["data"]["task"]["title"] for e in mine[:2]] == ["Draft", "Final"]
    assert mine[2]["data"]["task"]["status"] == "completed"
    assert mine[3]["data"]["task"]["status"] == "pending"
    assert "Lost" not in str(events)
    assert receiver.types(child["id"]) == ["task.created", "task.deleted"]
    assert len({e["id"] for e in events}) == len(events) == 7
    assert all(set(e) == {"id", "type", "created_at", "actor", "data"} for e in events)
    assert {e["actor"] for e in events} == {alice.id}


def test_users_without_a_webhook_record_nothing(app, alice, client):
    receiver = Receiver()
    hook_up(alice, receiver, events=["task.deleted"])
    bob = User(client, new_user_id("bob"))
    bobs = bob.create(title="Bob's")
    alices = alice.create(title="Only deletes count")
    alice.patch(f"/tasks/{alices['id']}", json={"title": "Still not"})
    with get_engine(app).connect() as conn:
        recorded = conn.execute(
            text("SELECT task_id FROM webhook_events WHERE task_id IN (:a, :b)"),
            {"a": uuid.UUID(alices["id"]), "b": uuid.UUID(bobs["id"])},
        ).all()
    assert recorded == []


def test_a_receiver_down_for_a_while_gets_the_event_after_retries(
    alice, database_uri, logs
):
    receiver = Receiver(answer=lambda n: 503 if n <= 3 else 204)
    hook_id = hook_up(alice, receiver, events=["task.created"])
    task = alice.create(title="Patience")
    with webhook_worker(database_uri, logs, WEBHOOK_RETRY_SECONDS=600):
        events = received(receiver, 1, logs)
    assert [e["data"]["task"]["id"] for e in events] == [task["id"]]
    attempts = alice.get(f"/webhooks/{hook_id}/deliveries").get_json()
    assert [a["status_code"] for a in attempts] == [204, 503, 503, 503]
    assert {a["event_id"] for a in attempts} == {events[0]["id"]}
    assert alice.get(f"/webhooks/{hook_id}").get_json()["active"] is True


def test_a_receiver_failing_for_the_whole_window_turns_the_webhook_inactive(
    alice, database_uri, logs
):
    receiver = Receiver(answer=lambda n: 500)
    hook_id = hook_up(alice, receiver, events=["task.created", "task.updated"])
    etag = alice.get(f"/webhooks/{hook_id}").headers["ETag"]
    # made once the worker runs, so its start does not eat the 3-s window
    with worker(database_uri, logs, WEBHOOK_RETRY_SECONDS=3):
        task = alice.create(title="Never heard")
        wait_until(
            lambda: not alice.get(f"/webhooks/{hook_id}").get_json()["active"],
            30,
            message=lambda: logs.read_text(),
        )
        # inactive: later changes are not recorded nor tried
        alice.patch(f"/tasks/{task['id']}", json={"title": "Unheard"})
        tried = receiver.requests
    assert receiver.requests == tried and tried >= 2
    assert alice.get(f"/webhooks/{hook_id}").headers["ETag"] != etag
    attempts = alice.get(f"/webhooks/{hook_id}/deliveries").get_json()
    assert {a["status_code"] for a in attempts} == {500}
    assert receiver.events == []


def test_two_workers_deliver_each_event_once_in_order_per_task(
    alice, database_uri, tmp_path
):
    receiver = Receiver()
    hook_up(alice, receiver, events=["task.created", "task.updated"])
    tasks = [alice.create(title=f"Task {n}") for n in range(20)]
    for task in tasks:
        alice.patch(f"/tasks/{task['id']}", json={"title": "Renamed"})
    with (
        webhook_worker(database_uri, tmp_path / "a.log", WEBHOOK_CONCURRENCY=4),
        webhook_worker(database_uri, tmp_path / "b.log", WEBHOOK_CONCURRENCY=4),
    ):
        events = received(receiver, 40, tmp_path / "a.log")
    assert len({e["id"] for e in events}) == len(events) == 40
    for task in tasks:
        assert receiver.types(task["id"]) == ["task.created", "task.updated"]


def test_a_worker_killed_mid_delivery_delivers_the_event_after_restarting(
    alice, database_uri, logs
):
    hold = threading.Event()
    # The first try is never answered before its worker dies.
    receiver = Receiver(answer=lambda n: 500 if n == 1 else 200, hold=hold)
    hook_up(alice, receiver, events=["task.created"])
    task = alice.create(title="Survives")
    with webhook_worker(database_uri, logs) as worker:
        wait_until(receiver.in_flight.is_set, 30, message=lambda: logs.read_text())
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    hold.set()
    with webhook_worker(database_uri, logs):
        events = received(receiver, 1, logs)
    assert [e["data"]["task"]["id"] for e in events] == [task["id"]]


def test_sigterm_mid_delivery_finishes_and_records_it(alice, database_uri, logs):
    hold = threading.Event()
    receiver = Receiver(hold=hold)
    hook_id = hook_up(alice, receiver, events=["task.created"])
    alice.create(title="Once")
    with webhook_worker(database_uri, logs) as worker:
        wait_until(receiver.in_flight.is_set, 30, message=lambda: logs.read_text())
        worker.send_signal(signal.SIGTERM)
        hold.set()
        assert worker.wait(timeout=30) == 0
    assert len(receiver.events) == 1
    attempts = alice.get(f"/webhooks/{hook_id}/deliveries").get_json()
    assert [a["status_code"] for a in attempts] == [200]
    # recorded as delivered: a new worker does not send it again
    alice.create(title="Sentinel")
    with webhook_worker(database_uri, logs):
        received(receiver, 2, logs)
    assert [e["data"]["task"]["title"] for e in receiver.events] == ["Once", "Sentinel"]


def test_reminders_fire_once_and_never_for_completed_or_deleted_tasks(
    alice, database_uri, logs
):
    receiver = Receiver()
    hook_up(alice, receiver, events=["reminder.due", "task.deleted"])
    with webhook_worker(database_uri, logs):
        wait_until(lambda: "delivering" in logs.read_text(), 30)
        due = alice.create(title="Remind me", reminders=[{"at": at(2)}])
        done = alice.create(title="Done", reminders=[{"at": at(2)}])
        gone = alice.create(title="Gone", reminders=[{"at": at(2)}])
        alice.patch(f"/tasks/{done['id']}", json={"completed": True})
        alice.delete(f"/tasks/{gone['id']}")
        events = received(receiver, 2, logs)
        # a later reminder as the sentinel: the first has had its time to repeat
        later = alice.create(title="Later", reminders=[{"at": at(3)}])
        received(receiver, 3, logs)
    reminded = [e for e in receiver.events if e["type"] == "reminder.due"]
    assert [e["data"]["task"]["id"] for e in reminded] == [due["id"], later["id"]]
    assert [e["actor"] for e in reminded] == [None, None]  # no one made them
    assert reminded[0]["data"]["remind_at"] == due["reminders"][0]["remind_at"]
    assert events[0]["type"] in ("task.deleted", "reminder.due")


def test_reminders_missed_in_an_outage_fire_late(alice, database_uri, logs):
    receiver = Receiver()
    hook_up(alice, receiver, events=["reminder.due"])
    with webhook_worker(database_uri, logs):  # the worker has been running
        wait_until(lambda: "delivering" in logs.read_text(), 30)
    task = alice.create(title="While down", reminders=[{"at": at(1)}])
    remind_at = task["reminders"][0]["remind_at"]
    wait_until(lambda: at(0) > remind_at, 10)
    with webhook_worker(database_uri, logs):
        events = received(receiver, 1, logs)
    assert events[0]["data"]["remind_at"] == remind_at
    assert events[0]["data"]["task"]["title"] == "While down"


def test_production_refuses_an_internal_address_at_delivery(alice, database_uri, logs):
    receiver = Receiver()
    # registered while the deployment allowed it (testing); delivered as deployed
    hook_id = hook_up(alice, receiver, events=["task.created"])
    alice.create(title="Not to loopback")
    with webhook_worker(
        database_uri, logs, APP_ENV="production", WEBHOOK_RETRY_SECONDS=600
    ):
        attempts = wait_until(
            lambda: alice.get(f"/webhooks/{hook_id}/deliveries").get_json(),
            30,
            message=lambda: logs.read_text(),
        )
    assert attempts[0]["status_code"] is None
    assert attempts[0]["error"].startswith("refused: ")
    assert receiver.requests == 0


def test_a_failed_batch_records_no_event(app, alice):
    receiver = Receiver()
    hook_up(alice, receiver)
    task = alice.create(title="Before the batch")
    operations = [
        {"op": "create", "body": {"title": "Rolled back"}},
        {"op": "update", "id": task["id"], "body": {"title": "Rolled back too"}},
        {"op": "delete", "id": str(uuid.uuid4())},  # not found: all undone
    ]
    response = alice.post("/tasks/batch", json={"operations": operations})
    assert_error(response, 404)
    with get_engine(app).connect() as conn:
        recorded = conn.execute(
            text(
                "SELECT e.type FROM webhook_events AS e JOIN webhooks AS w"
                " ON w.id = e.webhook_id WHERE w.user_id = :user ORDER BY e.id"
            ),
            {"user": alice.id},
        ).scalars()
        assert list(recorded) == ["task.created"]


def test_an_update_that_writes_the_same_values_is_no_event(app, alice):
    receiver = Receiver()
    hook_up(alice, receiver)
    task = alice.create(title="Same")
    # Any writer, not only the app: the trigger sees every UPDATE.
    with get_engine(app).begin() as conn:
        conn.execute(
            text("UPDATE tasks SET title = title WHERE id = :id"),
            {"id": uuid.UUID(task["id"])},
        )
    assert (
        alice.patch(f"/tasks/{task['id']}", json={"title": "Same"}).status_code == 200
    )
    assert alice.patch(f"/tasks/{task['id']}", json={"title": "New"}).status_code == 200
    with get_engine(app).connect() as conn:
        recorded = conn.execute(
            text("SELECT type FROM webhook_events WHERE task_id = :id ORDER BY id"),
            {"id": uuid.UUID(task["id"])},
        ).scalars()
        assert list(recorded) == ["task.created", "task.updated"]
