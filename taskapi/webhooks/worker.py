"""The worker (`flask --app wsgi deliver-webhooks`, the Procfile's `worker:`):
delivers the outbox that migration 0009's trigger fills, and records reminder.due
events as reminders come due. PostgreSQL only.

Each round claims up to WEBHOOK_CONCURRENCY due events with FOR UPDATE SKIP
LOCKED, skipping any event with an earlier undelivered one for the same webhook
and task (in order per task), POSTs them at once, and records the outcome in the
claiming transaction: several workers never deliver an event at the same time,
and a worker that dies mid-round delivers nothing it has not recorded (its
transaction rolls back and the events are claimed again: at least once).
"""

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx
from sqlalchemy import Uuid, text
from standardwebhooks import Webhook as Signer

from ..core.db import UTCDateTime, get_engine
from ..core.fields import rfc3339 as _rfc3339
from ..tasks.models import TASK_COLUMNS as _TASK_COLUMNS
from ..tasks.models import Task
from ..tasks.schemas import TaskSchema
from .urls import RefusedURL, pinned_request, public_addresses

log = logging.getLogger("taskapi.webhooks")
TIMEOUT = 5.0
IDLE_SECONDS = 1.0
KEPT_DELIVERIES = 50

CLAIM = text("""
    SELECT e.id, e.event_id, e.webhook_id, e.type, e.task, e.remind_at,
           e.created_at, e.attempts, w.url, w.secret
    FROM webhook_events AS e JOIN webhooks AS w ON w.id = e.webhook_id
    WHERE e.next_attempt_at <= now() AND w.active
      AND NOT EXISTS (
          SELECT 1 FROM webhook_events AS earlier
          WHERE earlier.webhook_id = e.webhook_id AND earlier.task_id = e.task_id
            AND earlier.id < e.id)
    ORDER BY e.id
    LIMIT :limit
    FOR UPDATE OF e SKIP LOCKED
""")
DELIVERED = text("DELETE FROM webhook_events WHERE id = :id")
# The last retry falls at the end of the window; failing then ends the webhook.
FAILED = text("""
    UPDATE webhook_events SET attempts = attempts + 1,
        next_attempt_at = LEAST(now() + make_interval(secs => :delay),
                                created_at + make_interval(secs => :window))
    WHERE id = :id
    RETURNING created_at + make_interval(secs => :window) <= now() AS expired
""")
DEACTIVATE = text("""
    UPDATE webhooks SET active = false, version = version + 1
    WHERE id = :webhook_id AND active
""")
# Rows another worker holds are its to finish; an inactive webhook's are never
# claimed again either way.
DROP_EVENTS = text("""
    DELETE FROM webhook_events WHERE id IN (
        SELECT id FROM webhook_events WHERE webhook_id = :webhook_id
        FOR UPDATE SKIP LOCKED)
""")
LOGGED = text("""
    INSERT INTO webhook_deliveries
        (webhook_id, event_id, type, attempted_at, status_code, error)
    VALUES (:webhook_id, :event_id, :type, :attempted_at, :status_code, :error)
""")
PRUNE_LOG = text("""
    DELETE FROM webhook_deliveries WHERE webhook_id = :webhook_id AND id <= (
        SELECT id FROM webhook_deliveries WHERE webhook_id = :webhook_id
        ORDER BY id DESC OFFSET :kept LIMIT 1)
""")

# reminder.due: reminders due in (fired_until, now] of live open tasks, once
# each; the clock row is taken with SKIP LOCKED so one worker fires at a time,
# and a worker back from an outage fires the ones it missed, late.
CLOCK_START = text("""
    INSERT INTO webhook_reminder_clock (id, fired_until) VALUES (1, now())
    ON CONFLICT (id) DO NOTHING
""")
CLOCK = text("""
    SELECT fired_until, now() AS until FROM webhook_reminder_clock
    WHERE id = 1 FOR UPDATE SKIP LOCKED
""")
FIRE = text("""
    INSERT INTO webhook_events
        (event_id, webhook_id, task_id, type, task, remind_at, created_at,
         attempts, next_attempt_at)
    SELECT gen_random_uuid(), w.id, t.id, 'reminder.due', to_jsonb(t),
           r.remind_at, now(), 0, now()
    FROM reminders AS r
    JOIN tasks AS t ON t.id = r.task_id
    JOIN webhooks AS w ON w.user_id = r.user_id
    WHERE r.remind_at > :after AND r.remind_at <= :until
      AND t.deleted_at IS NULL AND t.status <> 'completed'
      AND w.active AND w.events @> '["reminder.due"]'
    ORDER BY r.remind_at, r.id
""")
CLOCK_MOVE = text("UPDATE webhook_reminder_clock SET fired_until = :until WHERE id = 1")


def retry_delay(attempts: int, window: float) -> float:
    """Seconds before retry number `attempts`: doubling from window/4096 (21 s
    of 24 h), at most window/6 (4 h), so about 13 tries fill the window."""
    return min(max(window / 4096, 0.1) * 2 ** (attempts - 1), window / 6)


_DATETIMES = {c.name for _, c in _TASK_COLUMNS if isinstance(c.type, UTCDateTime)}
_UUIDS = {c.name for _, c in _TASK_COLUMNS if isinstance(c.type, Uuid)}


def task_from_row_json(row: dict) -> Task:
    """The Task of a row as to_jsonb wrote it, for TaskSchema to render as the
    API does."""
    values = {}
    for key, column in _TASK_COLUMNS:
        value = row.get(column.name)
        if value is not None and column.name in _DATETIMES:
            value = datetime.fromisoformat(value)
        elif value is not None and column.name in _UUIDS:
            value = uuid.UUID(value)
        values[key] = value
    return Task(**values)


def event_body(event) -> str:
    data = {"task": TaskSchema().dump(task_from_row_json(event.task))}
    if event.remind_at is not None:
        data["remind_at"] = _rfc3339(event.remind_at)
    body = {
        "id": str(event.event_id),
        "type": event.type,
        "created_at": _rfc3339(event.created_at),
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"))


class Worker:
    def __init__(self, app):
        self.engine = get_engine(app)
        self.window = app.config["WEBHOOK_RETRY_SECONDS"]
        self.concurrency = max(1, app.config["WEBHOOK_CONCURRENCY"])
        self.private_urls = app.config["WEBHOOK_PRIVATE_URLS"]
        self.stopping = threading.Event()
        self.http = httpx.Client(
            timeout=TIMEOUT,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=self.concurrency),
            headers={"User-Agent": "taskapi-webhooks"},
        )
        self.pool = ThreadPoolExecutor(self.concurrency)

    def run(self) -> None:
        """Rounds until stop(): the round in flight finishes and is recorded."""
        log.info("delivering webhooks (%d at a time)", self.concurrency)
        while not self.stopping.is_set():
            self.fire_reminders()
            if self.deliver_round() == 0:
                self.stopping.wait(IDLE_SECONDS)
        self.pool.shutdown()
        self.http.close()
        log.info("stopped")

    def stop(self, *_signal) -> None:
        self.stopping.set()

    def _transaction(self):
        return self.engine.connect().execution_options(isolation_level="READ COMMITTED")

    def fire_reminders(self) -> int:
        with self._transaction() as conn, conn.begin():
            conn.execute(CLOCK_START)
        with self._transaction() as conn, conn.begin():
            clock = conn.execute(CLOCK).one_or_none()
            if clock is None:  # another worker is firing
                return 0
            fired = conn.execute(
                FIRE, {"after": clock.fired_until, "until": clock.until}
            ).rowcount
            conn.execute(CLOCK_MOVE, {"until": clock.until})
        return fired

    def deliver_round(self) -> int:
        with self._transaction() as conn, conn.begin():
            events = conn.execute(CLAIM, {"limit": self.concurrency}).all()
            outcomes = list(self.pool.map(self.post, events))
            for event, (status_code, error) in zip(events, outcomes, strict=True):
                self.record(conn, event, status_code, error)
            for webhook_id in {event.webhook_id for event in events}:
                conn.execute(
                    PRUNE_LOG, {"webhook_id": webhook_id, "kept": KEPT_DELIVERIES}
                )
        return len(events)

    def post(self, event) -> tuple[int | None, str | None]:
        """(status code, None) or (None, why there is none)."""
        body = event_body(event)
        now = datetime.now(timezone.utc)
        msg_id = str(event.event_id)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Signer(event.secret).sign(msg_id, now, body),
        }
        url, extensions = event.url, {}
        try:
            if not self.private_urls:
                address = public_addresses(url)[0]
                url, host, extensions = pinned_request(url, address)
                headers.update(host)
            response = self.http.post(
                url, content=body, headers=headers, extensions=extensions
            )
        except RefusedURL as refused:
            return None, f"refused: {refused}"
        except httpx.TimeoutException:
            return None, f"timeout: no answer within {TIMEOUT:g} s"
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:500]
        except Exception:  # a bug here must not stop every other delivery
            log.exception("delivering event %s", msg_id)
            return None, "internal error: see the worker's log"
        return response.status_code, None

    def record(self, conn, event, status_code, error) -> None:
        conn.execute(
            LOGGED,
            {
                "webhook_id": event.webhook_id,
                "event_id": event.event_id,
                "type": event.type,
                "attempted_at": datetime.now(timezone.utc),
                "status_code": status_code,
                "error": error,
            },
        )
        if status_code is not None and 200 <= status_code < 300:
            conn.execute(DELIVERED, {"id": event.id})
            return
        delay = retry_delay(event.attempts + 1, self.window)
        expired = conn.execute(
            FAILED, {"id": event.id, "delay": delay, "window": self.window}
        ).scalar()
        if expired:
            log.warning("webhook %s failed for its retry window", event.webhook_id)
            conn.execute(DEACTIVATE, {"webhook_id": event.webhook_id})
            conn.execute(DROP_EVENTS, {"webhook_id": event.webhook_id})
