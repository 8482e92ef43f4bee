"""Shared lists: members with roles, invitations, and who created, is assigned
to and last changed each task.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

- `list_members` (list, user, role, joined_at, left_at): leaving keeps the row
  with `left_at`, and every write numbers `change_xid` as on tasks and lists, so
  the change feed can report a list gained or lost.
- `list_invitations`: a code's SHA-256 only (unique), its role, expiry and uses.
- `tasks.created_by` (existing rows: their user), `assignee_id`, and
  `changed_by` (who wrote last: the `actor` of webhook events).
- `task_departures`: a row per task that left a list, written by a trigger, so
  members who no longer see the task learn that it is gone for them.
- The webhook trigger (migration 0009) records an event for every user who sees
  the task after the change, with its actor (`webhook_events.actor`).

`created_by` stays nullable: SQLite adds a NOT NULL column only by rebuilding
`tasks`, which would drop migrations 0008's and 0012's triggers; the app always
sets it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
LIVE = "deleted_at IS NULL"

WEBHOOK_FUNCTION = """CREATE OR REPLACE FUNCTION public.webhook_events_record()
RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$"""

WEBHOOK_FUNCTION_0009 = """CREATE OR REPLACE FUNCTION public.webhook_events_record()
RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$"""

DEPARTURES_FUNCTION = """CREATE FUNCTION public.task_departures_record()
RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO task_departures (task_id, list_id, change_xid)
        VALUES (OLD.id, OLD.list_id, pg_current_xact_id()::text::bigint);
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("tasks", sa.Column("created_by", sa.String(255), nullable=True))
    op.add_column("tasks", sa.Column("assignee_id", sa.String(255), nullable=True))
    op.add_column("tasks", sa.Column("changed_by", sa.String(255), nullable=True))
    op.execute("UPDATE tasks SET created_by = user_id")
    op.add_column("webhook_events", sa.Column("actor", sa.String(255), nullable=True))
    op.create_index(
        "ix_tasks_assignee",
        "tasks",
        ["assignee_id", "id"],
        postgresql_where=sa.text(f"{LIVE} AND assignee_id IS NOT NULL"),
        sqlite_where=sa.text(f"{LIVE} AND assignee_id IS NOT NULL"),
    )
    op.create_table(
        "list_members",
        sa.Column(
            "list_id",
            sa.Uuid(),
            sa.ForeignKey(
                "lists.id", name="fk_list_members_list_id", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("joined_at", WHEN, nullable=False),
        sa.Column("left_at", WHEN, nullable=True),
        sa.Column(
            "change_xid", sa.BigInteger(), nullable=False, server_default=sa.text("0")
        ),
        sa.CheckConstraint("role IN ('editor', 'viewer')", name="ck_list_members_role"),
    )
    op.create_index("ix_list_members_user", "list_members", ["user_id", "list_id"])
    op.create_table(
        "list_invitations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "list_id",
            sa.Uuid(),
            sa.ForeignKey(
                "lists.id", name="fk_list_invitations_list_id", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ux_list_invitations_code_hash", "list_invitations", ["code_hash"], unique=True
    )
    op.create_index(
        "ix_list_invitations_list", "list_invitations", ["list_id", "created_at", "id"]
    )
    op.create_table(
        "task_departures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("change_xid", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_task_departures_list", "task_departures", ["list_id", "change_xid"]
    )
    if postgresql:
        op.execute(
            """CREATE TRIGGER list_members_change_xid BEFORE INSERT OR UPDATE
            ON public.list_members FOR EACH ROW EXECUTE FUNCTION set_change_xid()"""
        )
        op.execute(DEPARTURES_FUNCTION)
        op.execute(
            """CREATE TRIGGER task_departures AFTER UPDATE ON public.tasks FOR EACH ROW
            WHEN (OLD.list_id IS NOT NULL AND OLD.list_id IS DISTINCT FROM NEW.list_id)
            EXECUTE FUNCTION task_departures_record()"""
        )
        op.execute(WEBHOOK_FUNCTION)
    else:
        create_sqlite_triggers()


def create_sqlite_triggers() -> None:
    """SQLite (development): the change counter of migration 0008 numbers
    memberships and departures too."""
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"""CREATE TRIGGER list_members_change_{event.lower()} AFTER {event}
            ON list_members
            BEGIN
                UPDATE change_counter SET value = value + 1;
                UPDATE list_members SET change_xid = (SELECT value FROM change_counter)
                    WHERE rowid = NEW.rowid;
            END"""
        )
    op.execute(
        """CREATE TRIGGER task_departures AFTER UPDATE OF list_id ON tasks
        WHEN OLD.list_id IS NOT NULL
             AND (NEW.list_id IS NULL OR NEW.list_id <> OLD.list_id)
        BEGIN
            UPDATE change_counter SET value = value + 1;
            INSERT INTO task_departures (task_id, list_id, change_xid)
            VALUES (OLD.id, OLD.list_id, (SELECT value FROM change_counter));
        END"""
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(WEBHOOK_FUNCTION_0009)
        op.execute("DROP TRIGGER task_departures ON tasks")
        op.execute("DROP FUNCTION task_departures_record()")
        op.execute("DROP TRIGGER list_members_change_xid ON list_members")
    else:
        op.execute("DROP TRIGGER task_departures")
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER list_members_change_{event}")
    op.drop_table("task_departures")
    op.drop_table("list_invitations")
    op.drop_table("list_members")
    op.drop_index("ix_tasks_assignee", table_name="tasks")
    with op.batch_alter_table("webhook_events", recreate="never") as batch:
        batch.drop_column("actor")
    for column in ("changed_by", "assignee_id", "created_by"):
        with op.batch_alter_table("tasks", recreate="never") as batch:
            batch.drop_column(column)
