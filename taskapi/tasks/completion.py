"""Status changes: what a write's `status`/`completed` mean, and completion
(toggle or set) in one atomic UPDATE."""

import functools

from sqlalchemy import Row, bindparam, case, literal, update

from ..core.columns import utcnow
from ..core.db import Session
from ..core.errors import too_busy
from ..core.etags import IfMatch
from ..core.prepared import prepared
from ..core.scope import USER_ID, owned
from ..recurrence.occurrences import follow_status_change
from .guarded_writes import MAX_WRITE_ATTEMPTS, guarded_update, read_for_write
from .lookup import TASK_ID, task_uuid
from .models import TASKS, Task, task_columns


def status_on_create(fields: dict) -> str:
    """A new task's status: `status` if given, else from `completed`."""
    if "status" in fields:
        return fields["status"]
    return "completed" if fields.get("completed") else "pending"


def new_status(task: Task, fields: dict) -> str:
    """`status` if given; `completed: true` means completed; `completed: false`
    reopens a completed task (pending) and leaves any other alone."""
    if "status" in fields:
        return fields["status"]
    if "completed" not in fields:
        return task.status
    if fields["completed"]:
        return "completed"
    return "pending" if task.status == "completed" else task.status


def completion_values(completed: bool | None, actor, now=None, tasks=Task) -> dict:
    """SET clause of a completion write by `actor`: toggled (None) or set,
    computed by the database from the row's current status. `tasks`: as for
    owned()."""
    if now is None:
        now = literal(utcnow(), Task.updated_at.type)
    if completed is None:  # completed becomes pending, anything else completed
        becomes_completed = tasks.status != "completed"
    else:
        becomes_completed = literal(completed)
    return {
        "status": case((becomes_completed, "completed"), else_="pending"),
        "completed": becomes_completed,
        "completed_at": case((becomes_completed, now), else_=None),
        "updated_at": now,
        "changed_by": actor,
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
    # Recurring tasks (and reopened occurrences) take set_completed's other path:
    # they may create or remove a next occurrence in the same transaction; so do
    # the tasks of lists shared with the user (the role is checked there).
    conditions = [
        *owned(USER_ID, TASKS),
        TASKS.id == TASK_ID,
        TASKS.recurrence.is_(None),
        TASKS.next_task_id.is_(None),
    ]
    if completed is not None:
        conditions.append(TASKS.completed != completed)  # setting is idempotent
    now = bindparam("now", type_=Task.updated_at.type)
    actor = bindparam("actor", type_=Task.changed_by.type)
    return prepared(
        update(Task.__table__)
        .where(*conditions)
        .values(**completion_values(completed, actor, now, TASKS))
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
            "task_uuid": task_uuid(task_id),
            "now": utcnow(),
            "actor": user_id,
        }
        task = Session.execute(
            _completion_statement(completed), parameters
        ).one_or_none()
        Session.commit()
        if task is not None:
            return task
    # Unchanged, missing, recurring, or with If-Match: read, lock, decide, write.
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = read_for_write(user_id, task_id, if_match)
        if completed is not None and task.completed == completed:
            Session.commit()
            return task
        old_status = task.status
        updated = guarded_update(task, **completion_values(completed, user_id))
        if updated is not None:
            follow_status_change(updated.user_id, old_status, updated)
            Session.commit()
            return updated
    raise too_busy()
