"""The webhook worker under a hostile receiver and a failing database (issue 28,
findings 2, 3 and 4): deleting a webhook mid-delivery answers at once and the
worker lives on, a reply of hundreds of MiB is not read into memory, SIGTERM
stops a busy worker within 10 s, a worker killed mid-delivery leaves the event
leased (its attempt counted) rather than first in line again, and the database
going away is ridden out. A real worker process and receivers on loopback."""

import signal
import threading
import time

import pytest

from tests.support.receivers import DripReceiver, HugeReceiver, SlowReceiver
from tests.support.servers import wait_until
from tests.support.webhook_receiver import Receiver
from tests.support.webhooks import (
    database_refusing_connections,
    hook_up,
    pending_events,
    received,
    rss_mib,
    worker,
)

pytestmark = pytest.mark.postgres_only

LEASE = 15  # seconds a claimed event waits before another try: docs/webhooks.md


def test_deleting_a_webhook_mid_delivery_answers_at_once_and_the_worker_lives(
    alice, bob, database_uri, logs
):
    slow = SlowReceiver(delay=3)
    hook_id = hook_up(alice, slow, events=["task.created"])
    alice.create(title="Slowly heard")
    theirs = Receiver()
    hook_up(bob, theirs, events=["task.created"])
    answers = []
    with worker(database_uri, logs) as process:
        wait_until(slow.in_flight.is_set, 30, message=lambda: logs.read_text())
        deleting = threading.Thread(
            target=lambda: answers.append(alice.delete(f"/webhooks/{hook_id}")),
            daemon=True,
        )
        started = time.monotonic()
        deleting.start()
        deleting.join(timeout=10)
        took = time.monotonic() - started
        wait_until(lambda: slow.held, 15, message=lambda: logs.read_text())
        bob.create(title="After the delete")
        received(theirs, 1, logs)
        assert process.poll() is None, logs.read_text()
    assert [a.status_code for a in answers] == [204]
    assert took < 1, took
    assert alice.get(f"/webhooks/{hook_id}").status_code == 404
    assert "Deadlock" not in logs.read_text()


def test_a_300_mib_reply_is_not_read_into_the_workers_memory(alice, database_uri, logs):
    huge = HugeReceiver(300 << 20)
    hook_id = hook_up(alice, huge, events=["task.created"])
    with worker(database_uri, logs) as process:
        start = peak = rss_mib(process.pid)

        def recorded():
            nonlocal peak
            peak = max(peak, rss_mib(process.pid))
            return alice.get(f"/webhooks/{hook_id}/deliveries").get_json()

        alice.create(title="Answered at length")
        attempts = wait_until(recorded, 30, message=lambda: logs.read_text())
        peak = max(peak, rss_mib(process.pid))
    assert peak - start < 50, (start, peak)
    assert [a["status_code"] for a in attempts] == [200]  # only the status counts
    assert huge.sent < 50 << 20, huge.sent


def test_sigterm_stops_a_busy_worker_within_10_s(app, alice, database_uri, logs):
    drip = DripReceiver(interval=3)
    hook_id = hook_up(alice, drip, events=["task.created"])
    alice.create(title="Never answered")
    with worker(database_uri, logs) as process:
        wait_until(drip.in_flight.is_set, 30, message=lambda: logs.read_text())
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = process.wait(timeout=30)
        took = time.monotonic() - started
    assert took < 10, took
    assert code == 0, logs.read_text()
    # The delivery was cut off at its deadline and recorded, or left to its lease.
    [event] = pending_events(app, hook_id)
    assert event.attempts == 1


def test_a_worker_killed_mid_delivery_leaves_the_event_leased_with_its_attempt_counted(
    app, alice, bob, database_uri, logs
):
    drip = DripReceiver(interval=3)
    hook_id = hook_up(alice, drip, events=["task.created"])
    alice.create(title="Poison")
    theirs = Receiver()
    hook_up(bob, theirs, events=["task.created"])
    with worker(database_uri, logs) as first:
        wait_until(drip.in_flight.is_set, 30, message=lambda: logs.read_text())
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    killed = time.monotonic()
    [event] = pending_events(app, hook_id)
    assert event.attempts == 1
    assert LEASE - 5 < event.due_in <= LEASE
    bob.create(title="Not behind the poison")
    with worker(database_uri, logs):
        # the next worker is not stuck on the same event first
        received(theirs, 1, logs, timeout=10)
        assert drip.requests == 1
        wait_until(lambda: drip.requests == 2, LEASE + 15, message=logs.read_text)
        again = time.monotonic() - killed
        wait_until(lambda: drip.held and len(drip.held) == 2, 15)
    assert LEASE - 1 < again < LEASE + 10, again
    [event] = pending_events(app, hook_id)
    assert event.attempts == 2  # the killed attempt counts toward the schedule
    attempts = alice.get(f"/webhooks/{hook_id}/deliveries").get_json()
    assert [a["error"][:7] for a in attempts] == ["timeout"]


@pytest.mark.no_pgbouncer("PgBouncer waits 15 s to log in again after a refusal")
def test_the_worker_rides_out_its_database_going_away(alice, database_uri, logs):
    receiver = Receiver()
    hook_up(alice, receiver, events=["task.created"])
    with worker(database_uri, logs) as process:
        with database_refusing_connections(database_uri):
            wait_until(
                lambda: "OperationalError" in logs.read_text()
                or process.poll() is not None,
                15,
                message=lambda: logs.read_text(),
            )
            assert process.poll() is None, logs.read_text()
        alice.create(title="After the outage")
        received(receiver, 1, logs)
        assert process.poll() is None
