"""Webhooks: `webhooks`, the `webhook_events` outbox, the `webhook_deliveries`
log, the reminders' `webhook_reminder_clock`, and (PostgreSQL) the trigger that
records task events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

An AFTER INSERT/UPDATE row trigger on `tasks` writes one outbox row per active,
subscribed webhook of the task's user, in the transaction of the change: every
write path is covered, a rolled-back change leaves no event, and a user without
a webhook costs one index probe of `webhooks`. PostgreSQL only (as migration
0003's triggers): on SQLite, for development, webhooks register but hear nothing.
See docs/decisions/0018-webhook-events-by-trigger.md.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)

RECORD = """
CREATE FUNCTION webhook_events_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
BEGIN
    -- Users without a webhook stop here: one probe of ix_webhooks_user.
    IF NOT EXISTS (SELECT 1 FROM webhooks AS w
                   WHERE w.user_id = NEW.user_id AND w.active) THEN
        RETURN NULL;
    END IF;
    -- change_xid is set by the change feed's trigger on every UPDATE, so an
    -- UPDATE that wrote the values the row had is told apart without it.
    IF TG_OP = 'UPDATE'
       AND to_jsonb(OLD) - 'change_xid' = to_jsonb(NEW) - 'change_xid' THEN
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
        (event_id, webhook_id, task_id, type, task, created_at, attempts,
         next_attempt_at)
    SELECT gen_random_uuid(), w.id, NEW.id, kind, to_jsonb(NEW), now(), 0, now()
    FROM webhooks AS w
    WHERE w.user_id = NEW.user_id AND w.active AND w.events @> to_jsonb(kind);
    RETURN NULL;
END $$
"""
TRIGGERS = [
    RECORD,
    """CREATE TRIGGER webhook_events_insert AFTER INSERT ON tasks
        FOR EACH ROW EXECUTE FUNCTION webhook_events_record()""",
    """CREATE TRIGGER webhook_events_update AFTER UPDATE ON tasks
        FOR EACH ROW EXECUTE FUNCTION webhook_events_record()""",
]
UNTRIGGERS = [
    "DROP TRIGGER webhook_events_insert ON tasks",
    "DROP TRIGGER webhook_events_update ON tasks",
    "DROP FUNCTION webhook_events_record()",
]


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", JSON_LIST, nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_webhooks_user", "webhooks", ["user_id", "created_at", "id"])
    op.create_table(
        "webhook_events",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("task", JSON_LIST, nullable=False),
        sa.Column("remind_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="fk_webhook_events_webhook_id",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_events_task_order",
        "webhook_events",
        ["webhook_id", "task_id", "id"],
    )
    op.create_index(
        "ix_webhook_events_due", "webhook_events", ["next_attempt_at", "id"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("attempted_at", WHEN, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="fk_webhook_deliveries_webhook_id",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "id"]
    )
    op.create_table(
        "webhook_reminder_clock",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("fired_until", WHEN, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UNTRIGGERS:
            op.execute(statement)
    op.drop_table("webhook_reminder_clock")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhooks")
