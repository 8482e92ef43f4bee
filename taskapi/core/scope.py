"""What one user's queries may see, in one place: the WHERE clauses every
statement on tasks and lists carries (`owned()`, `owned_list()`, `siblings()`),
the columns a row is read with, and one task by id.

A task or list that is soft-deleted or belongs to someone else is, to every
query, one that does not exist: as a path, 404; referenced from a body
(`list_id`, `parent_id`), 422 on that field with the same words.
"""

import uuid

from sqlalchemy import Row, String, bindparam, select
from werkzeug.exceptions import NotFound

from ..lists.models import TaskList
from ..reminders.models import Reminder
from ..tasks.models import Task
from .db import Session
from .prepared import prepared

TASK_NOT_FOUND = "Task not found."
LIST_NOT_FOUND = "List not found."


def owned(user_id: str, tasks=Task):
    """The WHERE clause every task query carries: this user's live tasks.

    `tasks` is the Task entity, or the columns of the table or of a subquery
    of it (`TASKS`) for statements that load rows, not objects.
    """
    return tasks.user_id == user_id, tasks.deleted_at.is_(None)


# The table's columns: statements on them, rather than on the Task entity, skip
# the ORM's compile and load steps (see task_columns).
TASKS = Task.__table__.c
LISTS = TaskList.__table__.c
REMINDERS = Reminder.__table__.c


def owned_list(user_id: str, lists=TaskList):
    """The WHERE clause every list query carries: this user's live lists."""
    return lists.user_id == user_id, lists.deleted_at.is_(None)


def owned_reminders(user_id: str, reminders=REMINDERS):
    """The WHERE clause of the reminders table: this user's rows (whether their
    task is live is the task's own scope, owned())."""
    return (reminders.user_id == user_id,)


def siblings(user_id: str, list_id, parent_id, tasks=TASKS):
    """The WHERE clause of a sibling group, the tasks one manual order ranks: a
    parent's subtasks (always in its list), or the top level of a list (None:
    the inbox)."""
    if parent_id is not None:
        return (*owned(user_id, tasks), tasks.parent_id == parent_id)
    in_list = tasks.list_id.is_(None) if list_id is None else tasks.list_id == list_id
    return (*owned(user_id, tasks), in_list, tasks.parent_id.is_(None))


# (attribute name, column) of every mapped column: `priority_rank` is column `priority`
_TASK_COLUMNS = [(prop.key, prop.columns[0]) for prop in Task.__mapper__.column_attrs]


def task_columns(columns=TASKS) -> list:
    """A task's columns named as Task's attributes, for reads that need no ORM
    object: such a row is serialised and tagged (ETag) as a Task is, and costs
    no ORM loading. `columns`: the table's, or a subquery's selecting the whole
    table."""
    return [columns[column.name].label(key) for key, column in _TASK_COLUMNS]


def task_uuid(task_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise NotFound(TASK_NOT_FOUND) from None


# Statements of the hot paths, built once; the user and the task are bound per call.
USER_ID = bindparam("owner_id", type_=String)
TASK_ID = bindparam("task_uuid", type_=Task.id.type)
LIST_ID = bindparam("list_uuid", type_=Task.list_id.type)
PARENT_ID = bindparam("parent_uuid", type_=Task.parent_id.type)
_ONE_TASK = prepared(
    select(*task_columns()).where(*owned(USER_ID, TASKS), TASKS.id == TASK_ID)
)


def get_task(user_id: str, task_id: str) -> Row:
    """The task as a row with Task's attribute names (see task_columns)."""
    task = Session.execute(
        _ONE_TASK, {"owner_id": user_id, "task_uuid": task_uuid(task_id)}
    ).one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


def list_uuid(list_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(list_id)
    except ValueError:
        raise NotFound(LIST_NOT_FOUND) from None
