"""Every statement that reads or writes tasks, scoped to one user by `owned()`.

A task that is soft-deleted or belongs to someone else is, to these functions,
a task that does not exist.
"""

import uuid

from sqlalchemy import case, delete, literal, select, update
from werkzeug.exceptions import NotFound

from .db import Session
from .models import Task, utcnow

TASK_NOT_FOUND = "Task not found."


def owned(user_id: str):
    """The WHERE clause every task query carries: this user's live tasks."""
    return Task.user_id == user_id, Task.deleted_at.is_(None)


def _task_uuid(task_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise NotFound(TASK_NOT_FOUND) from None


def get_task(user_id: str, task_id: str) -> Task:
    task = Session.scalars(
        select(Task).where(*owned(user_id), Task.id == _task_uuid(task_id))
    ).one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


def list_tasks(user_id: str, page: int, per_page: int) -> list[Task]:
    query = (
        select(Task)
        .where(*owned(user_id))
        .order_by(Task.created_at.desc(), Task.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(Session.scalars(query))


def create_task(user_id: str, fields: dict) -> Task:
    now = utcnow()
    task = Task(user_id=user_id, created_at=now, updated_at=now, **fields)
    if task.completed:
        task.completed_at = now
    Session.add(task)
    Session.commit()
    return task


def update_task(task: Task, fields: dict) -> Task:
    """Apply the fields that differ from the task's values; no difference, no write."""
    changes = {
        name: value for name, value in fields.items() if getattr(task, name) != value
    }
    if not changes:
        return task
    now = utcnow()
    for name, value in changes.items():
        setattr(task, name, value)
    if "completed" in changes:
        task.completed_at = now if task.completed else None
    task.updated_at = now
    task.version += 1
    Session.commit()
    return task


def set_completed(user_id: str, task_id: str, completed: bool | None) -> Task:
    """Toggle (`completed` None) or set completion in one atomic UPDATE.

    The new value is computed by the database from the row's current value, so
    N concurrent toggles flip the task N times.
    """
    now = literal(utcnow(), Task.updated_at.type)
    new_value = ~Task.completed if completed is None else literal(completed)
    conditions = [*owned(user_id), Task.id == _task_uuid(task_id)]
    if completed is not None:
        conditions.append(Task.completed != completed)  # setting is idempotent
    statement = (
        update(Task)
        .where(*conditions)
        .values(
            completed=new_value,
            completed_at=case((new_value, now), else_=None),
            updated_at=now,
            version=Task.version + 1,
        )
        .returning(Task)
        .execution_options(synchronize_session=False)
    )
    task = Session.scalars(statement).one_or_none()
    Session.commit()
    return task if task is not None else get_task(user_id, task_id)


def soft_delete(user_id: str, task_id: str) -> None:
    result = Session.execute(
        update(Task)
        .where(*owned(user_id), Task.id == _task_uuid(task_id))
        .values(deleted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    Session.commit()
    if result.rowcount == 0:
        raise NotFound(TASK_NOT_FOUND)


def purge_deleted(before) -> int:
    """Remove soft-deleted tasks for good (the CLI's purge-deleted)."""
    result = Session.execute(
        delete(Task).where(Task.deleted_at.is_not(None), Task.deleted_at < before)
    )
    Session.commit()
    return result.rowcount
