"""One user's webhook cannot hold up another's (issue 28, findings 2 and 5): a
receiver that drips its reply a byte at a time is cut off at the 5-s deadline
while other webhooks' events flow, a backlog of thousands of events is served
in turn with everyone else's, and a webhook keeps at most 10,000 events pending.
A real worker process and receivers on loopback (tests/support/receivers.py)."""

import threading
import time

import pytest

from tests.support.receivers import DripReceiver
from tests.support.servers import wait_until
from tests.support.webhook_receiver import Receiver
from tests.support.webhooks import (
    hook_up,
    pending_events,
    queue_copies,
    received,
    worker,
)

pytestmark = pytest.mark.postgres_only

MAX_PENDING = 10_000  # per webhook: docs/webhooks.md


class TimedReceiver(Receiver):
    """A Receiver that notes when each request arrived."""

    def __init__(self):
        self.times = []
        lock = threading.Lock()

        def answer(_number):
            with lock:
                self.times.append(time.monotonic())
            return 200

        super().__init__(answer=answer)


def test_a_receiver_dripping_its_reply_is_cut_off_and_holds_no_one_up(
    alice, bob, database_uri, logs
):
    drip = DripReceiver(interval=3)
    drip_id = hook_up(alice, drip, events=["task.created"])
    for number in range(8):  # one for each delivery the worker makes at once
        alice.create(title=f"Dripped {number}")
    theirs = Receiver()
    hook_up(bob, theirs, events=["task.created"])
    with worker(database_uri, logs, WEBHOOK_CONCURRENCY=8):
        wait_until(lambda: drip.requests >= 8, 30, message=lambda: logs.read_text())
        bob.create(title="Not held up")
        sent = time.monotonic()
        received(theirs, 1, logs, timeout=10)
        waited = time.monotonic() - sent
        wait_until(lambda: len(drip.held) >= 8, 15, message=lambda: logs.read_text())
    # a total deadline of 5 s, not 5 s per read
    assert max(drip.held) < 7, drip.held
    assert waited < 10
    attempts = alice.get(f"/webhooks/{drip_id}/deliveries").get_json()
    assert len(attempts) == 8
    assert all(a["error"].startswith("timeout") for a in attempts), attempts


def test_a_backlog_of_2000_events_does_not_delay_another_webhooks_first_delivery(
    app, alice, bob, database_uri, logs
):
    busy = TimedReceiver()
    busy_id = hook_up(alice, busy, events=["task.created"])
    alice.create(title="One of 2,000")
    queue_copies(app, busy_id, 1999)
    theirs = TimedReceiver()
    hook_up(bob, theirs, events=["task.created"])
    bob.create(title="Queued after all of them")
    with worker(database_uri, logs, WEBHOOK_CONCURRENCY=4):
        received(theirs, 1, logs)
    before = [t for t in list(busy.times) if t < theirs.times[0]]
    # In turn, not first in first out: within the first round (4 at a time),
    # with room for that round's other deliveries to finish first.
    assert len(before) <= 2 * 4, len(before)


def test_past_10000_pending_events_a_webhook_drops_its_oldest_and_says_so(
    app, alice, database_uri, logs
):
    down = Receiver(answer=lambda n: 503)
    hook_id = hook_up(alice, down, events=["task.created"])
    alice.create(title="The oldest")
    queue_copies(app, hook_id, MAX_PENDING + 4)
    oldest = [row.id for row in pending_events(app, hook_id)[:5]]

    def dropped():
        attempts = alice.get(f"/webhooks/{hook_id}/deliveries").get_json()
        return [a for a in attempts if (a["error"] or "").startswith("dropped")]

    with worker(database_uri, logs, WEBHOOK_RETRY_SECONDS=600):
        notes = wait_until(dropped, 30, message=lambda: logs.read_text())
    assert "5 " in notes[0]["error"] and "10000" in notes[0]["error"], notes
    pending = pending_events(app, hook_id)
    assert len(pending) == MAX_PENDING
    assert not {row.id for row in pending} & set(oldest)
    assert "dropped" in logs.read_text()
    # still active: the newest events are still tried
    assert alice.get(f"/webhooks/{hook_id}").get_json()["active"] is True
