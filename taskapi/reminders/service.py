"""The `reminders` table: written with a task's reminders, read by GET /reminders."""

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, select

from ..core.db import Session
from ..core.scope import of_user, owned
from ..tasks.models import TASKS, Task
from .models import REMINDERS, Reminder
from .rules import instants


def write_reminders(user_id: str, task_id: uuid.UUID, reminders: list, new: bool):
    """Make the task's rows those of `reminders` (stored form); `new`: it has none."""
    if not new:
        Session.execute(
            delete(Reminder.__table__).where(
                *of_user(user_id, REMINDERS), REMINDERS.task_id == task_id
            )
        )
    rows = [
        {"task_id": task_id, "user_id": user_id, "remind_at": at, "before": before}
        for at, before in instants(reminders)
    ]
    if rows:
        Session.execute(insert(Reminder.__table__), rows)


def due_reminders(user_id: str, after: datetime, before: datetime) -> list:
    """The reminders in [after, before) of the user's live tasks that are not
    completed, by remind_at: a range of ix_reminders_user_remind_at, each task
    read by its primary key."""
    return Session.execute(
        select(
            REMINDERS.task_id,
            TASKS.title,
            TASKS.due_date,
            REMINDERS.remind_at,
        )
        .select_from(Reminder.__table__)
        .join(Task.__table__, TASKS.id == REMINDERS.task_id)
        .where(
            *of_user(user_id, REMINDERS),
            REMINDERS.remind_at >= after,
            REMINDERS.remind_at < before,
            *owned(user_id, TASKS),
            TASKS.status != "completed",
        )
        .order_by(REMINDERS.remind_at, REMINDERS.task_id)
    ).all()
