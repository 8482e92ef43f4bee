"""How a write to one task that depends on what it holds (If-Match, or "which
fields differ") reads the row, decides, then runs an UPDATE guarded by
`version = <the version read>`: if anyone changed the task in between, the
UPDATE matches no row and the write starts over from a fresh read. On
PostgreSQL the read also locks the row (FOR UPDATE), so concurrent writers
queue instead of starting over."""

from sqlalchemy import select, update
from werkzeug.exceptions import NotFound

from ..core.db import Session, begin_transaction
from ..core.etags import IfMatch
from ..core.scope import owned, require_writer, seen_tasks
from .lookup import TASK_NOT_FOUND, task_uuid
from .models import Task

MAX_WRITE_ATTEMPTS = 5


def locked_task(user_id: str, task_id: str, if_match: IfMatch | None) -> Task:
    """The task, its row locked (FOR UPDATE on PostgreSQL) until the transaction
    ends; 404 if the user does not see it, 403 if they only view it, 412 if
    If-Match does not match it."""
    task = Session.scalars(
        select(Task)
        .where(*seen_tasks(user_id, Task), Task.id == task_uuid(task_id))
        .with_for_update(of=Task)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    require_writer(user_id, task.user_id, task.list_id, TASK_NOT_FOUND)
    if if_match is not None:
        if_match.check(task)
    return task


def read_for_write(user_id: str, task_id: str, if_match: IfMatch | None) -> Task:
    Session.rollback()  # a fresh snapshot on every attempt (SQLite keeps its own)
    begin_transaction()  # the row lock lasts until the write commits
    return locked_task(user_id, task_id, if_match)


def guarded_update(task: Task, **values) -> Task | None:
    """UPDATE the task if it still has the version read; the new row, or None.
    (Through from_statement: an ORM bulk UPDATE would copy the statement and
    walk it again for its cache key, see _completion_statement.)"""
    guarded = (
        update(Task)
        .where(
            *owned(task.user_id, Task),
            Task.id == task.id,
            Task.version == task.version,
        )
        .values(**values)
        .returning(Task)
    )
    return Session.scalars(
        select(Task).from_statement(guarded).execution_options(populate_existing=True)
    ).one_or_none()
