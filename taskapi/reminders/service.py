"""The `reminders` table: written with a task's reminders, read by GET /reminders.

A task's reminders go to its recipient: its assignee, else its creator
(CONTRACT "Shared lists"), while that user sees the task. A row's `user_id` is
the task's creator, which never changes, so no write path has to keep it in
step: GET /reminders reads the creator's rows by ix_reminders_user_remind_at
and the assignee's through the task (ix_tasks_assignee), and reminders/due.py
computes the recipient from the task when it fires.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select, union_all

from ..core.db import Session
from ..core.scope import of_user, seen_tasks
from ..tasks.models import TASKS, Task
from .models import REMINDERS, Reminder
from .rules import instants


def creator(rows):
    """Who created the task; a row written without one (by another tool than
    the app) counts as its place's owner's, as before migration 0014."""
    return func.coalesce(rows.created_by, rows.user_id)


def write_reminders(task, reminders: list, new: bool):
    """Make the rows of `task` (with its id, user_id and created_by) those of
    `reminders` (stored form); `new`: it has none. The caller has checked that
    its user may write the task."""
    if not new:
        Session.execute(delete(Reminder.__table__).where(REMINDERS.task_id == task.id))
    row = {"id": task.id, "user_id": task.user_id, "created_by": task.created_by}
    write_new_reminders([row | {"reminders": reminders}])


def write_new_reminders(tasks: Iterable[dict]) -> None:
    """The rows of tasks that have none yet, each a mapping with its id, user_id,
    created_by and reminders (stored form): one statement for them all. A row
    goes to the task's creator, or its place's owner without one (creator())."""
    rows = [
        {"user_id": task["created_by"] or task["user_id"], "task_id": task["id"],
         "remind_at": at, "before": before}
        for task in tasks
        if task["reminders"]
        for at, before in instants(task["reminders"])
    ]  # fmt: skip
    if rows:
        Session.execute(insert(Reminder.__table__), rows)


def due_reminders(user_id: str, after: datetime, before: datetime) -> list:
    """The reminders in [after, before) that go to the user (tasks assigned to
    them; unassigned ones they created) of live tasks they see and that are not
    completed, by remind_at: the tasks assigned to the user by ix_tasks_assignee,
    the user's own rows by a range of ix_reminders_user_remind_at; each task
    read by its primary key."""
    columns = (REMINDERS.task_id, TASKS.title, TASKS.due_date, REMINDERS.remind_at)
    both = (
        REMINDERS.remind_at >= after,
        REMINDERS.remind_at < before,
        *seen_tasks(user_id, TASKS),
        TASKS.status != "completed",
    )
    assigned = (
        select(*columns)
        .select_from(Task.__table__)
        .join(Reminder.__table__, REMINDERS.task_id == TASKS.id)
        .where(TASKS.assignee_id == user_id, *both)
    )
    created = (
        select(*columns)
        .select_from(Reminder.__table__)
        .join(Task.__table__, TASKS.id == REMINDERS.task_id)
        .where(
            *of_user(user_id, REMINDERS),
            TASKS.assignee_id.is_(None),
            creator(TASKS) == user_id,
            *both,
        )
    )
    due = union_all(assigned, created).subquery()
    return Session.execute(select(due).order_by(due.c.remind_at, due.c.task_id)).all()
