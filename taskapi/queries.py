"""Every statement that reads or writes tasks, scoped to one user by `owned()`
(the listing's statements are in listing.py, with the same scope).

A task that is soft-deleted or belongs to someone else is, to these functions,
a task that does not exist.
"""

import functools
import uuid

from sqlalchemy import (
    Row,
    String,
    bindparam,
    case,
    delete,
    insert,
    literal,
    select,
    update,
)
from werkzeug.exceptions import NotFound, ServiceUnavailable

from .db import Session, begin_transaction
from .etags import IfMatch
from .models import PRIORITY_RANK, Task, utcnow
from .prepared import prepared

TASK_NOT_FOUND = "Task not found."


def owned(user_id: str, tasks=Task):
    """The WHERE clause every task query carries: this user's live tasks.

    `tasks` is the Task entity, or the columns of the table or of a subquery
    of it (`TASKS`) for statements that load rows, not objects.
    """
    return tasks.user_id == user_id, tasks.deleted_at.is_(None)


# The table's columns: statements on them, rather than on the Task entity, skip
# the ORM's compile and load steps (see task_columns).
TASKS = Task.__table__.c

# (attribute name, column) of every mapped column: `priority_rank` is column `priority`
_TASK_COLUMNS = [(prop.key, prop.columns[0]) for prop in Task.__mapper__.column_attrs]


def task_columns(columns=TASKS) -> list:
    """A task's columns named as Task's attributes, for reads that need no ORM
    object: such a row is serialised and tagged (ETag) as a Task is, and costs
    no ORM loading. `columns`: the table's, or a subquery's selecting the whole
    table."""
    return [columns[column.name].label(key) for key, column in _TASK_COLUMNS]


def _task_uuid(task_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise NotFound(TASK_NOT_FOUND) from None


# Statements of the hot paths, built once; the user and the task are bound per call.
_USER_ID = bindparam("owner_id", type_=String)
_TASK_ID = bindparam("task_uuid", type_=Task.id.type)
_ONE_TASK = prepared(
    select(*task_columns()).where(*owned(_USER_ID, TASKS), TASKS.id == _TASK_ID)
)


def get_task(user_id: str, task_id: str) -> Row:
    """The task as a row with Task's attribute names (see task_columns)."""
    task = Session.execute(
        _ONE_TASK, {"owner_id": user_id, "task_uuid": _task_uuid(task_id)}
    ).one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


_INSERT = prepared(insert(Task.__table__).returning(*task_columns()))


def add_task(user_id: str, fields: dict) -> Row:
    """Insert a new task (not committed), the columns' defaults filling what
    `fields` leaves out; the task as inserted, as a row (see task_columns)."""
    now = utcnow()
    values = {
        **fields,
        "user_id": user_id,
        "priority": PRIORITY_RANK[fields["priority"]],  # the column holds the rank
        "completed_at": now if fields["completed"] else None,
        "created_at": now,
        "updated_at": now,
    }
    return Session.execute(_INSERT, values).one()


def create_task(user_id: str, fields: dict) -> Row:
    task = add_task(user_id, fields)
    Session.commit()
    return task


# Writes to one task -------------------------------------------------------------
#
# A write that depends on what the task holds (If-Match, or "which fields differ")
# reads the row, decides, then runs an UPDATE guarded by `version = <the version
# read>`: if anyone changed the task in between, the UPDATE matches no row and the
# write starts over from a fresh read. On PostgreSQL the read also locks the row
# (FOR UPDATE), so concurrent writers queue instead of starting over.

MAX_WRITE_ATTEMPTS = 5


def _read_for_write(user_id: str, task_id: str, if_match: IfMatch | None) -> Task:
    Session.rollback()  # a fresh snapshot on every attempt (SQLite keeps its own)
    begin_transaction()  # the row lock lasts until the write commits
    task = Session.scalars(
        select(Task)
        .where(*owned(user_id), Task.id == _task_uuid(task_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    if if_match is not None:
        if_match.check(task)
    return task


def _guarded_update(task: Task, **values) -> Task | None:
    """UPDATE the task if it still has the version read; the new row, or None.
    (Through from_statement: an ORM bulk UPDATE would copy the statement and
    walk it again for its cache key, see _completion_statement.)"""
    guarded = (
        update(Task)
        .where(
            *owned(task.user_id),
            Task.id == task.id,
            Task.version == task.version,
        )
        .values(**values)
        .returning(Task)
    )
    return Session.scalars(
        select(Task).from_statement(guarded).execution_options(populate_existing=True)
    ).one_or_none()


def _too_busy():
    return ServiceUnavailable(
        "The task is being changed by other requests right now; retry.",
        retry_after=1,
    )


def update_task(
    user_id: str, task_id: str, fields: dict, if_match: IfMatch | None = None
) -> Task:
    """Apply the fields that differ from the task's values; no difference, no write."""
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = _read_for_write(user_id, task_id, if_match)
        changes = {
            name: value
            for name, value in fields.items()
            if getattr(task, name) != value
        }
        if not changes:
            Session.commit()
            return task
        now = utcnow()
        if "priority" in changes:
            changes["priority_rank"] = PRIORITY_RANK[changes.pop("priority")]
        if "completed" in changes:
            changes["completed_at"] = now if changes["completed"] else None
        updated = _guarded_update(
            task, **changes, updated_at=now, version=Task.version + 1
        )
        if updated is not None:
            Session.commit()
            return updated
    raise _too_busy()


def _completion_values(completed: bool | None, now=None, tasks=Task) -> dict:
    """SET clause of a completion write: toggled (None) or set, computed by the
    database from the row's current value. `tasks`: as for owned()."""
    if now is None:
        now = literal(utcnow(), Task.updated_at.type)
    new_value = ~tasks.completed if completed is None else literal(completed)
    return {
        "completed": new_value,
        "completed_at": case((new_value, now), else_=None),
        "updated_at": now,
        "version": tasks.version + 1,
    }


@functools.lru_cache(maxsize=3)
def _completion_statement(completed: bool | None):
    """The one-statement completion write (no If-Match): toggle, or set, and the
    task as it is afterwards, as a row (see task_columns).

    Built once, on the table's columns: an UPDATE of the ORM entity runs as an
    ORM bulk UPDATE, which copies the statement on every execution and walks
    the whole SET clause again for its cache key.
    """
    conditions = [*owned(_USER_ID, TASKS), TASKS.id == _TASK_ID]
    if completed is not None:
        conditions.append(TASKS.completed != completed)  # setting is idempotent
    now = bindparam("now", type_=Task.updated_at.type)
    return prepared(
        update(Task.__table__)
        .where(*conditions)
        .values(**_completion_values(completed, now, TASKS))
        .returning(*task_columns())
    )


def set_completed(
    user_id: str, task_id: str, completed: bool | None, if_match: IfMatch | None = None
) -> Task | Row:
    """Toggle (`completed` None) or set completion in one atomic UPDATE.

    The new value is computed by the database from the row's current value, so
    N concurrent toggles flip the task N times. Setting the value a task already
    has is no change. With If-Match, the UPDATE is also guarded by the version
    whose tag matched.
    """
    if if_match is None:
        parameters = {
            "owner_id": user_id,
            "task_uuid": _task_uuid(task_id),
            "now": utcnow(),
        }
        task = Session.execute(
            _completion_statement(completed), parameters
        ).one_or_none()
        Session.commit()
        return task if task is not None else get_task(user_id, task_id)
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = _read_for_write(user_id, task_id, if_match)
        if completed is not None and task.completed == completed:
            Session.commit()
            return task
        updated = _guarded_update(task, **_completion_values(completed))
        if updated is not None:
            Session.commit()
            return updated
    raise _too_busy()


# On the table, not the entity: a write that returns nothing needs none of the
# ORM's bulk-UPDATE bookkeeping, and the statement, built once, keeps its cache key.
_SOFT_DELETE = prepared(
    update(Task.__table__)
    .where(*owned(_USER_ID, TASKS), TASKS.id == _TASK_ID)
    .values(deleted_at=bindparam("now", type_=Task.deleted_at.type))
)


def soft_delete(user_id: str, task_id: str, if_match: IfMatch | None = None) -> None:
    if if_match is None:
        result = Session.execute(
            _SOFT_DELETE,
            {"owner_id": user_id, "task_uuid": _task_uuid(task_id), "now": utcnow()},
        )
        Session.commit()
        if result.rowcount == 0:
            raise NotFound(TASK_NOT_FOUND)
        return
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = _read_for_write(user_id, task_id, if_match)
        if _guarded_update(task, deleted_at=utcnow()) is not None:
            Session.commit()
            return
    raise _too_busy()


def purge_deleted(before) -> int:
    """Remove soft-deleted tasks for good (the CLI's purge-deleted)."""
    result = Session.execute(
        delete(Task).where(Task.deleted_at.is_not(None), Task.deleted_at < before)
    )
    Session.commit()
    return result.rowcount
