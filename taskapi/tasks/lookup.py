"""One task by its id: a path's id as a UUID (404 if it is none), the task read
as a row with Task's attribute names, and the bound parameters the hot
statements of tasks/ share."""

import uuid

from sqlalchemy import Row, bindparam, select
from werkzeug.exceptions import NotFound

from ..core.db import Session
from ..core.prepared import prepared
from ..core.scope import USER_ID, seen_tasks, uuid_or_404
from .models import TASKS, Task, task_columns

TASK_NOT_FOUND = "Task not found."

# Statements of the hot paths, built once; the user and the task are bound per call.
TASK_ID = bindparam("task_uuid", type_=Task.id.type)
LIST_ID = bindparam("list_uuid", type_=Task.list_id.type)
PARENT_ID = bindparam("parent_uuid", type_=Task.parent_id.type)
_ONE_TASK = prepared(
    select(*task_columns()).where(*seen_tasks(USER_ID, TASKS), TASKS.id == TASK_ID)
)


def task_uuid(task_id: str) -> uuid.UUID:
    return uuid_or_404(task_id, TASK_NOT_FOUND)


def get_task(user_id: str, task_id: str) -> Row:
    """The task as a row with Task's attribute names (see task_columns)."""
    task = Session.execute(
        _ONE_TASK, {"owner_id": user_id, "task_uuid": task_uuid(task_id)}
    ).one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task
