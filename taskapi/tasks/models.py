"""The task models (SQLAlchemy 2.0 typed mappings): Task, TaskCount (the live
count the listing's total reads) and IdempotencyKey. Migrations own the schema."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import (
    LIVE,
    POSTGRESQL_ONLY,
    JSONObject,
    TagList,
    live_index,
    postgresql_index,
    utcnow,
)
from ..core.db import Base

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


IN_A_LIST = "list_id IS NOT NULL"


def list_sort_indexes() -> list[Index]:
    """Indexes (list_id, sort key, id) over the live tasks of lists."""
    in_a_list = text(f"{LIVE.text} AND {IN_A_LIST}")
    due = literal_column("due_date")
    only_postgresql = {
        "ix_tasks_list_due": [due.asc().nulls_last(), literal_column("id").asc()],
        "ix_tasks_list_due_desc": [
            due.desc().nulls_last(),
            literal_column("id").desc(),
        ],
    }
    return [
        *(
            live_index(
                f"ix_tasks_list_{name}", "list_id", column, "id", where=IN_A_LIST
            )
            for name, column in (
                ("created", "created_at"),
                ("updated", "updated_at"),
                ("priority", "priority"),
                ("position", "position"),
            )
        ),
        *(
            Index(
                name,
                "list_id",
                *order,
                postgresql_where=in_a_list,
                info=POSTGRESQL_ONLY,
            )
            for name, order in only_postgresql.items()
        ),
        Index(
            "ix_tasks_list_title",
            "list_id",
            func.lower(literal_column("title")).collate("C"),
            "id",
            postgresql_where=in_a_list,
            info={**POSTGRESQL_ONLY, "compare_definition": False},
        ),
    ]


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The owner of the task's place: the list's owner, or the user whose inbox
    # holds it (core/scope.py); who created it; whom it is assigned to; who
    # changed it last (the `actor` of its webhook events, migration 0014).
    user_id: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(255))
    assignee_id: Mapped[str | None] = mapped_column(String(255))
    changed_by: Mapped[str | None] = mapped_column(String(255))
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
        Uuid, ForeignKey("lists.id", name="fk_tasks_list_id")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tasks.id", name="fk_tasks_parent_id")
    )
    # Fractional index among its siblings (ordering.py).
    position: Mapped[str] = mapped_column(Position)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    # Bumped on every change: the ETag, and the guard of conditional writes.
    version: Mapped[int] = mapped_column(default=1)
    # {"rule", "timezone", "from"} (recurrence/), or NULL; series_id: the first
    # task of its series; next_task_id: the occurrence its completion created.
    recurrence: Mapped[dict | None] = mapped_column(JSONObject)
    series_id: Mapped[uuid.UUID | None]
    next_task_id: Mapped[uuid.UUID | None]
    # The reminders as answered, each with its remind_at (reminders/rules.py); the
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
        # The same sort keys within one list (migration 0015): a member's listing
        # reads each shared list's first page from them. Tasks in no list (all of
        # an inbox's) are not in them.
        *list_sort_indexes(),
        # A list (or the inbox) in manual order; a parent's subtasks in order; the
        # status filter, newest first (migration 0006).
        live_index(
            "ix_tasks_user_list_position", "user_id", "list_id", "position", "id"
        ),
        live_index("ix_tasks_parent_position", "parent_id", "position", "id"),
        # Deleted rows too: a purge's foreign-key check of each removed task
        # looks for subtasks by it (migration 0012); in order, as the one above.
        Index(
            "ix_tasks_parent",
            "parent_id",
            "position",
            "id",
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
        # the assignee_id filter; reminders by assignee
        live_index(
            "ix_tasks_assignee", "assignee_id", "id", where="assignee_id IS NOT NULL"
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


# The table's columns: statements on them, rather than on the Task entity, skip
# the ORM's compile and load steps (see task_columns).
TASKS = Task.__table__.c
# (attribute name, column) of every mapped column: `priority_rank` is column `priority`
TASK_COLUMNS = [(prop.key, prop.columns[0]) for prop in Task.__mapper__.column_attrs]


def task_columns(columns=TASKS) -> list:
    """A task's columns named as Task's attributes, for reads that need no ORM
    object: such a row is serialised and tagged (ETag) as a Task is, and costs
    no ORM loading. `columns`: the table's, or a subquery's selecting the whole
    table."""
    return [columns[column.name].label(key) for key, column in TASK_COLUMNS]


class ListTaskCount(Base):
    """PostgreSQL only: each list's number of live tasks, kept by the triggers
    that keep `task_counts` (migration 0015). Read by a member's listing for
    its total."""

    __tablename__ = "list_task_counts"
    __table_args__ = {"info": POSTGRESQL_ONLY}

    list_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("lists.id", name="fk_list_task_counts_list_id", ondelete="CASCADE"),
        primary_key=True,
    )
    live: Mapped[int]
