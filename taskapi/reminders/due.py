"""When `reminder.due` fires: reminders that have come due are recorded as webhook
events (the outbox the worker delivers), once each, by whichever worker holds the
clock. Called by the webhook worker on every round (webhooks/worker.py).
PostgreSQL only."""

from collections.abc import Callable

from sqlalchemy import text

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


def fire_due_reminders(transaction: Callable) -> int:
    """Record a reminder.due event for every reminder due since the clock, for
    each active webhook of its user that hears them, and move the clock to now;
    how many were recorded. `transaction()`: a new connection that runs a READ
    COMMITTED transaction (the worker's). 0 when another worker holds the clock."""
    with transaction() as conn, conn.begin():
        conn.execute(CLOCK_START)
    with transaction() as conn, conn.begin():
        clock = conn.execute(CLOCK).one_or_none()
        if clock is None:  # another worker is firing
            return 0
        fired = conn.execute(
            FIRE, {"after": clock.fired_until, "until": clock.until}
        ).rowcount
        conn.execute(CLOCK_MOVE, {"until": clock.until})
    return fired
