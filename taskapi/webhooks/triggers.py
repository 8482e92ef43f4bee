"""Which event a task write records: the trigger on `tasks` that writes one outbox
row (`webhook_events`) per active, subscribed webhook of every user who sees the
task (its place's owner, its list's members; migration 0014), in the
transaction of the change (migration 0009 made it;
docs/decisions/0018-webhook-events-by-trigger.md). Every write path is covered, a
rolled-back change leaves no event, and a user without a webhook costs one index
probe of `webhooks`. The worker delivers the outbox (worker.py); reminder.due
events are recorded by reminders/due.py, which the worker calls.

Registered in migrations/env.py with alembic_utils, so `flask db check` compares
it with the database (see tasks/triggers.py). PostgreSQL only: on SQLite, for
development, webhooks register but hear nothing.
"""

from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger

WEBHOOK_EVENTS_RECORD = PGFunction(
    schema="public",
    signature="webhook_events_record()",
    definition="""RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
BEGIN
    -- Who hears of it: whoever sees the task after the change, the owner of its
    -- place and its list's members. Without a webhook among them this stops
    -- here: a probe of ix_webhooks_user per user.
    IF NOT EXISTS (
        SELECT 1 FROM webhooks AS w
        WHERE w.active AND (w.user_id = NEW.user_id OR w.user_id IN (
            SELECT m.user_id FROM list_members AS m
            WHERE m.list_id = NEW.list_id AND m.left_at IS NULL))
    ) THEN
        RETURN NULL;
    END IF;
    -- change_xid is set by the change feed's trigger on every UPDATE, and
    -- changed_by names who wrote: an UPDATE that wrote the values the row had is
    -- told apart without them.
    IF TG_OP = 'UPDATE'
       AND to_jsonb(OLD) - 'change_xid' - 'changed_by'
           = to_jsonb(NEW) - 'change_xid' - 'changed_by' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.deleted_at IS NOT NULL THEN
            RETURN NULL;
        END IF;
        kind := 'task.created';
    ELSIF OLD.deleted_at IS NOT NULL THEN
        RETURN NULL;  -- a task already deleted changes for nobody
    ELSIF NEW.deleted_at IS NOT NULL THEN
        kind := 'task.deleted';
    ELSIF NEW.status = 'completed' AND OLD.status <> 'completed' THEN
        kind := 'task.completed';
    ELSE
        kind := 'task.updated';
    END IF;
    INSERT INTO webhook_events
        (event_id, webhook_id, task_id, type, actor, task, created_at, attempts,
         next_attempt_at)
    SELECT gen_random_uuid(), w.id, NEW.id, kind, NEW.changed_by, to_jsonb(NEW),
           now(), 0, now()
    FROM webhooks AS w
    WHERE w.active AND w.events @> to_jsonb(kind)
      AND (w.user_id = NEW.user_id OR w.user_id IN (
          SELECT m.user_id FROM list_members AS m
          WHERE m.list_id = NEW.list_id AND m.left_at IS NULL));
    RETURN NULL;
END $$""",
)


def _on_tasks(name: str, event: str) -> PGTrigger:
    return PGTrigger(
        schema="public",
        signature=name,
        on_entity="public.tasks",
        definition=f"AFTER {event} ON public.tasks "
        "FOR EACH ROW EXECUTE FUNCTION webhook_events_record()",
    )


ENTITIES = [
    WEBHOOK_EVENTS_RECORD,
    _on_tasks("webhook_events_insert", "INSERT"),
    _on_tasks("webhook_events_update", "UPDATE"),
]
