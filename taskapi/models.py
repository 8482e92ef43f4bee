"""The models (SQLAlchemy 2.0 typed mappings): Task, TaskList, Reminder,
IdempotencyKey, TaskCount, Webhook, WebhookEvent, WebhookDelivery,
WebhookReminderClock. Migrations own the schema."""

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base

# Stored as their rank, so that sorting by priority is sorting by a column.
PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
DEFAULT_PRIORITY = "medium"

STATUSES = ("pending", "in_progress", "completed")
DEFAULT_STATUS = "pending"
# A position is compared as bytes: the "C" collation on PostgreSQL, whatever the
# database's locale (SQLite compares bytes already).
POSITION_LENGTH = 255
Position = String(POSITION_LENGTH).with_variant(
    String(POSITION_LENGTH, collation="C"), "postgresql"
)

TagList = JSON().with_variant(JSONB(), "postgresql")
# A JSON object or SQL NULL (not JSON `null`): `recurrence IS NULL` is what the
# one-statement toggle tests.
JSONObject = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)

# Every listing index covers one user's live tasks.
LIVE = text("deleted_at IS NULL")
# Objects the migrations create on PostgreSQL only: migrations/env.py leaves them
# out of the comparison on SQLite.
POSTGRESQL_ONLY = {"postgresql_only": True}
SQLITE_ONLY = {"sqlite_only": True}


def live_index(name: str, *expressions, where: str | None = None, **options) -> Index:
    """A partial index over live rows, on both databases (migrations 0001, 0003...);
    `where` narrows it further."""
    live = LIVE if where is None else text(f"{LIVE.text} AND {where}")
    return Index(
        name, *expressions, postgresql_where=live, sqlite_where=live, **options
    )


def postgresql_index(name: str, *expressions, info=None, **options) -> Index:
    """A partial index over live tasks that migration 0003 creates on PostgreSQL
    only (sort orders or index types SQLite has not got)."""
    info = {**POSTGRESQL_ONLY, **(info or {})}
    return Index(name, *expressions, postgresql_where=LIVE, info=info, **options)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # `completed` is kept beside `status` (the toggle and the indexes use it); a
    # CHECK keeps the two in step.
    status: Mapped[str] = mapped_column(
        String(20), default=DEFAULT_STATUS, server_default=DEFAULT_STATUS
    )
    completed: Mapped[bool] = mapped_column(default=False)
    completed_at: Mapped[datetime | None]
    priority_rank: Mapped[int] = mapped_column(
        "priority", SmallInteger, default=PRIORITY_RANK[DEFAULT_PRIORITY]
    )
    due_date: Mapped[datetime | None]
    tags: Mapped[list[str]] = mapped_column(TagList, default=list)
    list_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lists.id", name="fk_tasks_list_id")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", name="fk_tasks_parent_id")
    )
    # Fractional index among its siblings (ordering.py).
    position: Mapped[str] = mapped_column(Position)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    # Bumped on every change: the ETag, and the guard of conditional writes.
    version: Mapped[int] = mapped_column(default=1)
    # {"rule", "timezone", "from"} (recurrence.py), or NULL; series_id: the first
    # task of its series; next_task_id: the occurrence its completion created.
    recurrence: Mapped[dict | None] = mapped_column(JSONObject)
    series_id: Mapped[uuid.UUID | None]
    next_task_id: Mapped[uuid.UUID | None]
    # The reminders as answered, each with its remind_at (reminders.py); the
    # `reminders` table holds the same instants, indexed.
    # (server default: rows written by other tools than the app have none)
    reminders: Mapped[list[dict]] = mapped_column(
        TagList, default=list, server_default=text("'[]'")
    )
    # Set by the database on every write (migration 0008): the change feed's order.
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))

    __table_args__ = (
        CheckConstraint("priority BETWEEN 0 AND 3", name="ck_tasks_priority_rank"),
        CheckConstraint(
            "status IN ('pending', 'in_progress', 'completed')", name="ck_tasks_status"
        ),
        CheckConstraint(
            "completed = (status = 'completed')", name="ck_tasks_completed_status"
        ),
        # The listing's sort keys, each in the listing's exact order with id last.
        live_index("ix_tasks_user_created", "user_id", "created_at", "id"),
        live_index("ix_tasks_user_updated", "user_id", "updated_at", "id"),
        live_index("ix_tasks_user_priority", "user_id", "priority", "id"),
        live_index(
            "ix_tasks_user_completed_created",
            "user_id",
            "completed",
            "created_at",
            "id",
        ),
        postgresql_index(
            "ix_tasks_user_due",
            "user_id",
            literal_column("due_date").asc().nulls_last(),
            literal_column("id").asc(),
        ),
        postgresql_index(
            "ix_tasks_user_due_desc",
            "user_id",
            literal_column("due_date").desc().nulls_last(),
            literal_column("id").desc(),
        ),
        postgresql_index(
            "ix_tasks_user_title",
            "user_id",
            func.lower(literal_column("title")).collate("C"),
            "id",
            # PostgreSQL reflects an index expression without its COLLATE, so
            # Alembic cannot compare this one's definition, only that it exists.
            info={"compare_definition": False},
        ),
        # A list (or the inbox) in manual order; a parent's subtasks in order; the
        # status filter, newest first (migration 0006).
        live_index(
            "ix_tasks_user_list_position", "user_id", "list_id", "position", "id"
        ),
        live_index("ix_tasks_parent_position", "parent_id", "position", "id"),
        # Deleted rows too: a purge's foreign-key check of each removed task
        # looks for subtasks by it (migration 0012).
        Index(
            "ix_tasks_parent",
            "parent_id",
            postgresql_where=text("parent_id IS NOT NULL"),
            sqlite_where=text("parent_id IS NOT NULL"),
        ),
        # The inbox's order (migration 0010): `list_id IS NULL` does not let
        # PostgreSQL read the index above in position order.
        live_index(
            "ix_tasks_inbox_position",
            "user_id",
            "position",
            "id",
            where="list_id IS NULL AND parent_id IS NULL",
        ),
        live_index(
            "ix_tasks_user_status_created", "user_id", "status", "created_at", "id"
        ),
        live_index("ix_tasks_user_series", "user_id", "series_id", "created_at", "id"),
        Index("ix_tasks_user_change", "user_id", "change_xid", "id"),
        # The filters: `tag` (JSONB containment) and `q` (trigram ILIKE).
        postgresql_index(
            "ix_tasks_tags",
            "tags",
            postgresql_using="gin",
            postgresql_ops={"tags": "jsonb_path_ops"},
        ),
        *(
            postgresql_index(
                f"ix_tasks_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
                # Skipped by the migration when the role may not create pg_trgm.
                info={"extension": "pg_trgm"},
            )
            for column in ("title", "description")
        ),
    )

    @property
    def priority(self) -> str:
        return PRIORITIES[self.priority_rank]

    @priority.setter
    def priority(self, name: str) -> None:
        self.priority_rank = PRIORITY_RANK[name]


class TaskList(Base):
    """A user's list of tasks. Soft-deleted like tasks."""

    __tablename__ = "lists"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100))
    # The name case-folded in Python: unique per user among live lists, the same on
    # both databases whatever their locale (SQL's lower() is not).
    name_key: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))

    __table_args__ = (
        Index("ix_lists_user_change", "user_id", "change_xid", "id"),
        live_index("ix_lists_user_name", "user_id", "name_key", unique=True),
        live_index("ix_lists_user_created", "user_id", "created_at", "id"),
    )


class Reminder(Base):
    """One reminder of a task at its instant: what GET /reminders (and a worker
    firing them) reads by index. Rewritten whenever the task's reminders or due
    date change; whether the task is live and open is read from the task."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", name="fk_reminders_task_id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(String(255))
    remind_at: Mapped[datetime]
    # ISO 8601 duration of a `before` reminder; NULL for an `at` one.
    before: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_reminders_user_remind_at", "user_id", "remind_at", "task_id"),
        Index("ix_reminders_remind_at", "remind_at"),
        Index("ix_reminders_task", "task_id"),
    )


class SyncState(Base):
    """One row: the highest change number purge-deleted has removed for good."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purged_through: Mapped[int] = mapped_column(BigInteger)


class ChangeCounter(Base):
    """SQLite only: the change number its triggers hand out (migration 0008)."""

    __tablename__ = "change_counter"
    __table_args__ = {"info": SQLITE_ONLY}

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKey(Base):
    """A POST /tasks that carried an `Idempotency-Key`, kept 24 hours so that a
    retry with the same key answers the same 201 instead of creating again."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of the validated request body: a retry must send the same one.
    fingerprint: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[uuid.UUID]
    # The first response, replayed as it was: body (exact bytes) and ETag.
    response_body: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)


class TaskCount(Base):
    """PostgreSQL only: each user's number of live tasks, kept by triggers on
    `tasks` (migration 0003). Read by the unfiltered listing for its total."""

    __tablename__ = "task_counts"
    __table_args__ = {"info": POSTGRESQL_ONLY}

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    live: Mapped[int]


# Ids of tables that grow without bound; SQLite autoincrements INTEGER keys only.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Webhook(Base):
    """A user's endpoint that hears about the events it names (webhooks.py)."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(TagList)
    # `whsec_<base64>`, as Standard Webhooks write it: kept to sign with.
    secret: Mapped[str] = mapped_column(String(100))
    # False once an event failed for the whole retry window; it then hears nothing.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    # The trigger of migration 0009 probes (user_id) on every task write.
    __table_args__ = (Index("ix_webhooks_user", "user_id", "created_at", "id"),)


class WebhookEvent(Base):
    """The outbox: one event for one webhook, not yet delivered. Written by the
    trigger of migration 0009 (task events) or the worker (reminder.due);
    deleted once delivered."""

    __tablename__ = "webhook_events"

    # The order of events: delivered by it, per (webhook, task).
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The `webhook-id` a receiver deduplicates by; the same on every retry.
    event_id: Mapped[uuid.UUID]
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "webhooks.id", name="fk_webhook_events_webhook_id", ondelete="CASCADE"
        )
    )
    task_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(40))
    # The task's row as JSON at that event (to_jsonb), rendered at delivery.
    task: Mapped[dict] = mapped_column(TagList)
    remind_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]

    # Claims go round robin over webhooks, oldest first within each, and in
    # order per task (webhook_outbox.py).
    __table_args__ = (
        Index("ix_webhook_events_task_order", "webhook_id", "task_id", "id"),
        Index("ix_webhook_events_webhook", "webhook_id", "id"),
    )


class WebhookDelivery(Base):
    """One delivery attempt, for GET /webhooks/<id>/deliveries (the last 50 kept)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "webhooks.id", name="fk_webhook_deliveries_webhook_id", ondelete="CASCADE"
        )
    )
    event_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(40))
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)


class WebhookReminderClock(Base):
    """One row: reminders due up to `fired_until` have had their reminder.due."""

    __tablename__ = "webhook_reminder_clock"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fired_until: Mapped[datetime]
