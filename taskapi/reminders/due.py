"""Where reminder.due fires: reminders come due become webhook events.

Each round the webhook worker calls `fire_due`. Reminders due in
(fired_until, now] of live open tasks get one `reminder.due` event per active
webhook, subscribed to it, of the task's recipient (its assignee, else its
creator: service.py) while the recipient sees the task, once each. The clock
row (`webhook_reminder_clock`) is taken with SKIP LOCKED, so one worker fires
at a time, and a worker back from an outage fires the ones it missed, late.

The statements name the webhook tables and nothing of the webhooks package:
the worker imports this module, never the reverse. PostgreSQL only.
"""

from sqlalchemy import text

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
    CROSS JOIN LATERAL (
        SELECT coalesce(t.assignee_id, t.created_by, t.user_id) AS user_id
    ) AS recipient
    JOIN webhooks AS w ON w.user_id = recipient.user_id
    WHERE r.remind_at > :after AND r.remind_at <= :until
      AND t.deleted_at IS NULL AND t.status <> 'completed'
      -- the recipient sees the task: its place is theirs, or they are an
      -- active member of its list (core/scope.py seen_tasks, in SQL)
      AND (t.user_id = recipient.user_id OR EXISTS (
          SELECT 1 FROM list_members AS m
          WHERE m.list_id = t.list_id AND m.user_id = recipient.user_id
            AND m.left_at IS NULL))
      AND w.active AND w.events @> '["reminder.due"]'
    ORDER BY r.remind_at, r.id
""")
CLOCK_MOVE = text("UPDATE webhook_reminder_clock SET fired_until = :until WHERE id = 1")


def fire_due(conn) -> int:
    """Record reminder.due for the reminders come due since the last round, on
    `conn` (not in a transaction), in two transactions of its own: the clock
    row made once, then read, fired and moved together. How many events were
    recorded; 0 while another worker holds the clock."""
    with conn.begin():
        conn.execute(CLOCK_START)
    with conn.begin():
        clock = conn.execute(CLOCK).one_or_none()
        if clock is None:  # another worker is firing
            return 0
        fired = conn.execute(
            FIRE, {"after": clock.fired_until, "until": clock.until}
        ).rowcount
        conn.execute(CLOCK_MOVE, {"until": clock.until})
    return fired
