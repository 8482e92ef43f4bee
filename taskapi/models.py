"""The Task model (SQLAlchemy 2.0 typed mapping). Migrations own the schema."""

import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Index, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base

# Stored as their rank, so that sorting by priority is sorting by a column.
PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
DEFAULT_PRIORITY = "medium"

TagList = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    completed: Mapped[bool] = mapped_column(default=False)
    completed_at: Mapped[datetime | None]
    priority_rank: Mapped[int] = mapped_column(
        "priority", SmallInteger, default=PRIORITY_RANK[DEFAULT_PRIORITY]
    )
    due_date: Mapped[datetime | None]
    tags: Mapped[list[str]] = mapped_column(TagList, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    # Bumped on every change: the ETag, and the guard of conditional writes.
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        Index(
            "ix_tasks_user_created",
            "user_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
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

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    live: Mapped[int]
