"""The worker (`flask --app wsgi deliver-webhooks`, the Procfile's `worker:`):
delivers the outbox that migration 0009's trigger fills, and has reminder.due
events recorded as reminders come due (reminders/due.py). PostgreSQL only; any
number may run.

Up to WEBHOOK_CONCURRENCY deliveries are in flight, each in a thread of its own
with a total deadline (http.py). Whenever one ends, the worker records it and
claims more, fairly across webhooks (outbox.py): claim (commit), deliver, record
(commit), so no transaction or row lock lives through an HTTP call, and a slow
receiver holds one delivery slot for at most its deadline.
A database error ends the step, is logged and is tried again after a pause:
what was claimed and not recorded comes back after its lease (at least once).
See docs/decisions/0019-webhook-claim-deliver-record.md.
"""

import logging
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from sqlalchemy.exc import SQLAlchemyError

from ..core.db import get_engine
from ..reminders.due import fire_due
from .http import DEADLINE, Sender
from .outbox import Outbox

log = logging.getLogger("taskapi.webhooks")
IDLE_SECONDS = 1.0  # between looks at the outbox while nothing ends or is due
REMINDER_SECONDS = 1.0  # between looks for reminders come due
CAP_SECONDS = 10.0  # between checks of the pending events' cap
DATABASE_PAUSE = 2.0  # after a database error


class Worker:
    def __init__(self, app):
        self.concurrency = max(1, app.config["WEBHOOK_CONCURRENCY"])
        self.outbox = Outbox(get_engine(app), app.config["WEBHOOK_RETRY_SECONDS"])
        self.sender = Sender(self.concurrency, app.config["WEBHOOK_PRIVATE_URLS"])
        self.pool = ThreadPoolExecutor(self.concurrency, "delivery")
        self.in_flight = {}  # Future -> the event it delivers
        self.stopping = threading.Event()
        self.next_reminders = self.next_cap_check = 0.0

    def run(self) -> None:
        """Deliver until stop(), then finish what is in flight."""
        log.info("delivering webhooks (%d at a time)", self.concurrency)
        while not self.stopping.is_set():
            try:
                self.step()
            except SQLAlchemyError as error:  # a deadlock, a restart, a lost link
                log.warning(
                    "database error, trying again in %g s: %s", DATABASE_PAUSE, error
                )
                self.stopping.wait(DATABASE_PAUSE)
        self.finish()

    def stop(self, *_signal) -> None:
        self.stopping.set()

    def step(self) -> None:
        """Chores when due, claims for the free slots, then wait (at most
        IDLE_SECONDS) for a delivery to end and record it."""
        self.chores()
        free = self.concurrency - len(self.in_flight)
        if free:
            busy = Counter(event.webhook_id for event in self.in_flight.values())
            for event in self.outbox.claim(free, busy):
                self.in_flight[self.pool.submit(self.sender.post, event)] = event
        if not self.in_flight:
            self.stopping.wait(IDLE_SECONDS)
            return
        done, _ = wait(self.in_flight, IDLE_SECONDS, return_when=FIRST_COMPLETED)
        self.record(done)

    def chores(self) -> None:
        now = time.monotonic()
        if now >= self.next_reminders:
            self.next_reminders = now + REMINDER_SECONDS
            with self.outbox.connection() as conn:
                fire_due(conn)
        if now >= self.next_cap_check:
            self.next_cap_check = now + CAP_SECONDS
            self.outbox.drop_over_cap()

    def record(self, done) -> None:
        for future in done:
            event = self.in_flight.pop(future)
            self.outbox.record(event, *future.result())

    def finish(self) -> None:
        """Record the deliveries in flight as they end, each by its deadline;
        one still going after that (a look-up that hangs) is left to its lease."""
        done, late = wait(self.in_flight, DEADLINE + 1)
        try:
            self.record(done)
        except SQLAlchemyError as error:
            log.warning("database error while stopping: %s", error)
        if late:
            log.warning("stopping with %d deliveries unfinished", len(late))
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.sender.close()
        log.info("stopped")
