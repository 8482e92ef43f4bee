"""The outbox's SQL for the worker (worker.py): claim due events fairly, record
what became of a delivery, keep a webhook's pending events under a cap. Each is
a short transaction of its own: no transaction or row lock lives through an HTTP
call (decision 19). reminder.due events are recorded by reminders/due.py.

A claim is a lease: it counts the attempt and moves the event's next attempt
LEASE_SECONDS ahead, then commits. A worker that dies mid-delivery leaves the
event to come back after the lease, its attempt counted toward the retry
schedule, while every other event goes on being claimed.
"""

import logging
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import text

log = logging.getLogger("taskapi.webhooks")

# Longer than a delivery can take (http.DEADLINE, DNS included) plus
# the time to record it; short enough that a killed worker's event is soon back.
LEASE_SECONDS = 15
# Undelivered events a webhook keeps; past it the oldest are dropped, logged and
# shown in its deliveries. A list of 10,000 tasks deleted still arrives whole.
MAX_PENDING = 10_000
KEPT_DELIVERIES = 50

# Round robin over webhooks, not first in first out: each webhook's first due
# event before anyone's second, the webhook waiting longest first, and one
# already delivering here waits its turn behind the others. Within a webhook,
# oldest first, none with an earlier undelivered event for its task.
CLAIM = text("""
    WITH RECURSIVE pending(webhook_id) AS (
        -- each webhook with events, one probe apiece (a skip scan), not a
        -- read of every event
        (SELECT webhook_id FROM webhook_events ORDER BY webhook_id LIMIT 1)
        UNION ALL
        SELECT (SELECT e.webhook_id FROM webhook_events AS e
                WHERE e.webhook_id > pending.webhook_id
                ORDER BY e.webhook_id LIMIT 1)
        FROM pending WHERE pending.webhook_id IS NOT NULL
    ),
    heads AS (
        SELECT head.id,
               row_number() OVER (PARTITION BY w.id ORDER BY head.id)
                   + coalesce(busy.deliveries, 0) AS turn,
               min(head.id) OVER (PARTITION BY w.id) AS waiting_since
        FROM pending
        JOIN webhooks AS w ON w.id = pending.webhook_id AND w.active
        LEFT JOIN unnest(CAST(:busy_ids AS uuid[]), CAST(:busy_counts AS int[]))
            AS busy(webhook_id, deliveries) ON busy.webhook_id = w.id
        CROSS JOIN LATERAL (
            SELECT e.id FROM webhook_events AS e
            WHERE e.webhook_id = w.id AND e.next_attempt_at <= now()
              AND NOT EXISTS (
                  SELECT 1 FROM webhook_events AS earlier
                  WHERE earlier.webhook_id = e.webhook_id
                    AND earlier.task_id = e.task_id AND earlier.id < e.id)
            ORDER BY e.id
            LIMIT :limit
        ) AS head
    ),
    claimed AS (
        SELECT id FROM webhook_events
        WHERE id IN (SELECT id FROM heads ORDER BY turn, waiting_since LIMIT :limit)
          AND next_attempt_at <= now()
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_events AS e
    SET attempts = e.attempts + 1,
        next_attempt_at = now() + make_interval(secs => :lease)
    FROM webhooks AS w
    WHERE e.id IN (SELECT id FROM claimed) AND w.id = e.webhook_id
    RETURNING e.id, e.event_id, e.webhook_id, e.type, e.actor, e.task,
              e.remind_at, e.created_at, e.attempts, w.url, w.secret
""")
# The webhook before its events, as a delete takes them, so a record and a
# delete never wait on each other in a cycle; one being deleted is skipped
# (its events and log go with it), and a record never waits on the delete.
LOCK_WEBHOOK = text("""
    SELECT active FROM webhooks WHERE id = :webhook_id FOR KEY SHARE SKIP LOCKED
""")
LOGGED = text("""
    INSERT INTO webhook_deliveries
        (webhook_id, event_id, type, attempted_at, status_code, error)
    VALUES (:webhook_id, :event_id, :type, :attempted_at, :status_code, :error)
""")
DELIVERED = text("DELETE FROM webhook_events WHERE id = :id")
# Only while the claim is still this worker's: after the lease another may have
# claimed the event again. The last retry falls at the end of the window;
# failing then ends the webhook.
FAILED = text("""
    UPDATE webhook_events
    SET next_attempt_at = LEAST(now() + make_interval(secs => :delay),
                                created_at + make_interval(secs => :window))
    WHERE id = :id AND attempts = :attempts
    RETURNING created_at + make_interval(secs => :window) <= now() AS expired
""")
DEACTIVATE = text("""
    UPDATE webhooks SET active = false, version = version + 1
    WHERE id = :webhook_id AND active
""")
# Rows another transaction holds are its to finish; an inactive webhook's are
# never claimed again either way.
DROP_EVENTS = text("""
    DELETE FROM webhook_events WHERE id IN (
        SELECT id FROM webhook_events WHERE webhook_id = :webhook_id
        FOR UPDATE SKIP LOCKED)
""")
PRUNE_LOG = text("""
    DELETE FROM webhook_deliveries WHERE webhook_id = :webhook_id AND id <= (
        SELECT id FROM webhook_deliveries WHERE webhook_id = :webhook_id
        ORDER BY id DESC OFFSET :kept LIMIT 1)
""")
OVER_CAP = text("""
    SELECT webhook_id FROM webhook_events
    GROUP BY webhook_id HAVING count(*) > :cap
""")
DROP_OLDEST = text("""
    DELETE FROM webhook_events WHERE id IN (
        SELECT id FROM webhook_events
        WHERE webhook_id = :webhook_id AND id <= (
            SELECT id FROM webhook_events WHERE webhook_id = :webhook_id
            ORDER BY id DESC OFFSET :cap LIMIT 1)
        FOR UPDATE SKIP LOCKED)
    RETURNING id, event_id, type
""")


def retry_delay(attempts: int, window: float) -> float:
    """Seconds before the try after attempt number `attempts`: doubling from
    window/4096 (21 s of 24 h), at most window/6 (4 h), so about 13 tries fill
    the window."""
    return min(max(window / 4096, 0.1) * 2 ** (attempts - 1), window / 6)


class Outbox:
    """The worker's statements on `engine`, each in a transaction of its own."""

    def __init__(self, engine, window: float):
        self.engine = engine
        self.window = window

    def connection(self):
        """A connection of its own at READ COMMITTED, for one short transaction
        at a time (also reminders/due.py's, through the worker)."""
        return self.engine.connect().execution_options(isolation_level="READ COMMITTED")

    def claim(self, limit: int, busy: Counter) -> list:
        """Up to `limit` due events, leased to this worker; `busy` counts the
        deliveries it has in flight per webhook."""
        with self.connection() as conn, conn.begin():
            return conn.execute(
                CLAIM,
                {
                    "limit": limit,
                    "lease": LEASE_SECONDS,
                    "busy_ids": [str(webhook_id) for webhook_id in busy],
                    "busy_counts": list(busy.values()),
                },
            ).all()

    def record(self, event, status_code: int | None, error: str | None) -> None:
        """The attempt in the webhook's log; the event gone if it was delivered,
        else its next try set (or, past the retry window, the webhook ended). A
        no-op for a webhook deleted meanwhile."""
        with self.connection() as conn, conn.begin():
            if conn.execute(LOCK_WEBHOOK, {"webhook_id": event.webhook_id}).first():
                self._record(conn, event, status_code, error)

    def _record(self, conn, event, status_code, error) -> None:
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
        conn.execute(
            PRUNE_LOG, {"webhook_id": event.webhook_id, "kept": KEPT_DELIVERIES}
        )
        if status_code is not None and 200 <= status_code < 300:
            conn.execute(DELIVERED, {"id": event.id})
            return
        expired = conn.execute(
            FAILED,
            {
                "id": event.id,
                "attempts": event.attempts,
                "delay": retry_delay(event.attempts, self.window),
                "window": self.window,
            },
        ).scalar()
        if expired:
            log.warning("webhook %s failed for its retry window", event.webhook_id)
            conn.execute(DEACTIVATE, {"webhook_id": event.webhook_id})
            conn.execute(DROP_EVENTS, {"webhook_id": event.webhook_id})

    def drop_over_cap(self) -> int:
        """Drop the oldest events of each webhook with more than MAX_PENDING
        pending, logged and noted in its deliveries; how many were dropped."""
        with self.connection() as conn:
            over = conn.execute(OVER_CAP, {"cap": MAX_PENDING}).scalars().all()
        return sum(self._drop_oldest(webhook_id) for webhook_id in over)

    def _drop_oldest(self, webhook_id) -> int:
        with self.connection() as conn, conn.begin():
            if not conn.execute(LOCK_WEBHOOK, {"webhook_id": webhook_id}).first():
                return 0
            dropped = conn.execute(
                DROP_OLDEST, {"webhook_id": webhook_id, "cap": MAX_PENDING}
            ).all()
            if not dropped:
                return 0
            newest = max(dropped, key=lambda row: row.id)
            note = (
                f"dropped: {len(dropped)} undelivered events, the oldest, "
                f"over the {MAX_PENDING} a webhook keeps pending"
            )
            log.warning("webhook %s %s", webhook_id, note)
            conn.execute(
                LOGGED,
                {
                    "webhook_id": webhook_id,
                    "event_id": newest.event_id,
                    "type": newest.type,
                    "attempted_at": datetime.now(timezone.utc),
                    "status_code": None,
                    "error": note,
                },
            )
            return len(dropped)
