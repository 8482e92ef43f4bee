"""The reminders table: one row per reminder of a task, at its instant."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class Reminder(Base):
    """One reminder of a task at its instant: what GET /reminders (and a worker
    firing them) reads by index. Rewritten whenever the task's reminders or due
    date change; whether the task is live and open is read from the task."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", name="fk_reminders_task_id", ondelete="CASCADE")
    )
    # The task's creator (service.py): the rows of unassigned tasks that GET
    # /reminders reads by user; an assignee's are found through the task.
    user_id: Mapped[str] = mapped_column(String(255))
    remind_at: Mapped[datetime]
    # ISO 8601 duration of a `before` reminder; NULL for an `at` one.
    before: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_reminders_user_remind_at", "user_id", "remind_at", "task_id"),
        Index("ix_reminders_remind_at", "remind_at"),
        Index("ix_reminders_task", "task_id"),
    )


REMINDERS = Reminder.__table__.c  # for statements that load rows, not objects
