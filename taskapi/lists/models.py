"""The list model: a user's named list of tasks (SQLAlchemy 2.0 typed mapping)."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import live_index, utcnow
from ..core.db import Base


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


LISTS = TaskList.__table__.c  # for statements that load rows, not objects
LIST_NOT_FOUND = "List not found."
