"""Recurring tasks in the write paths: the rules a write must meet, the next
occurrence created in the transaction that completes a task, and its removal when
that completion is undone. Every route that changes a status ends in
`follow_status_change` (tasks/completion.py, tasks/service.py).

A task's next occurrence always has the same id, and so has each copy of one of
its subtasks: a completion made again after an undo takes the place of the rows
the undo soft-deleted, instead of adding as many again each time."""

import uuid

from marshmallow import ValidationError
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..core.columns import utcnow
from ..core.db import Session
from ..core.errors import invalid
from ..core.scope import of_user, owned
from ..reminders.models import Reminder
from ..reminders.rules import carried, stored
from ..reminders.service import write_new_reminders
from ..tasks import ordering
from ..tasks.models import TASKS, Task
from ..tasks.subtasks import MAX_SUBTASKS
from .dates import next_occurrence, public_recurrence

NEEDS_DUE_DATE = "A recurring task needs a due_date."
# uuid5 namespace of next occurrences: the next of task T is uuid5(this, T), the
# copy of its subtask S is uuid5(that id, S).
NEXT_OCCURRENCE = uuid.UUID("03939f83-28ae-40da-9ebe-85269c1042de")
NO_RECURRING_SUBTASKS = "A subtask cannot recur."


def check_recurrence(recurrence: dict | None, due, parent_id) -> None:
    """422 on `recurrence` for a task that may not have the one it would have."""
    if recurrence is None:
        return
    if parent_id is not None:
        raise invalid("recurrence", NO_RECURRING_SUBTASKS)
    if due is None:
        raise invalid("recurrence", NEEDS_DUE_DATE)


def same_recurrence(stored_one: dict | None, given: dict | None) -> bool:
    return public_recurrence(stored_one) == given


def stored_reminders(reminders: list, due) -> list:
    """The reminders in stored form; a `before` without a due date is 422."""
    try:
        return stored(reminders, due)
    except ValidationError as error:
        raise invalid("reminders", error.messages[0]) from None


def follow_status_change(user_id: str, old_status: str, task: Task) -> None:
    """In the transaction that changed `task`'s status from `old_status`: create
    its next occurrence, or undo the one its completion created."""
    if task.status == old_status:
        return
    if task.status == "completed":
        if task.recurrence is not None and task.next_task_id is None:
            _create_next(user_id, task)
    elif old_status == "completed" and task.next_task_id is not None:
        _undo_next(user_id, task)


def _copy(task, **values) -> dict:
    return {
        "user_id": task.user_id,
        "created_by": task.created_by,
        "assignee_id": task.assignee_id,
        "changed_by": task.changed_by,
        "title": task.title,
        "description": task.description,
        "status": "pending",
        "completed": False,
        "completed_at": None,
        "priority": task.priority_rank,
        "tags": list(task.tags),
        "list_id": task.list_id,
        "version": 1,
        **values,
    }


def _create_next(user_id: str, task: Task) -> None:
    due, recurrence = next_occurrence(task.recurrence, task.due_date, task.completed_at)
    if due is None:  # COUNT used up, UNTIL passed
        return
    now = utcnow()
    position, renumbered = ordering.position_right_after(task, now)
    subtasks = Session.scalars(
        select(Task)
        .where(*owned(user_id, Task), Task.parent_id == task.id)
        .order_by(Task.position, Task.id)
        .limit(MAX_SUBTASKS)  # tasks from before the limit may have more
    ).all()
    next_id, copy_ids = _next_ids(user_id, task, subtasks)
    reminders = carried(task.reminders, due)
    rows = [
        _copy(
            task,
            id=next_id,
            due_date=due,
            parent_id=None,
            position=position,
            recurrence=recurrence,
            series_id=task.series_id or task.id,
            reminders=reminders,
            created_at=now,
            updated_at=now,
        )
    ]
    shift = due - task.due_date
    for subtask, copy_id in zip(subtasks, copy_ids, strict=True):
        sub_due = None if subtask.due_date is None else subtask.due_date + shift
        sub_reminders = [] if sub_due is None else carried(subtask.reminders, sub_due)
        rows.append(
            _copy(
                subtask,
                id=copy_id,
                due_date=sub_due,
                parent_id=next_id,
                position=subtask.position,
                recurrence=None,
                series_id=None,
                reminders=sub_reminders,
                created_at=now,
                updated_at=now,
            )
        )
    Session.execute(insert(Task.__table__), rows)
    write_new_reminders(rows)
    Session.execute(
        update(Task.__table__)
        .where(*owned(user_id, TASKS), TASKS.id == task.id)
        .values(next_task_id=next_id)
    )
    if renumbered:  # its own position may have changed with its siblings'
        Session.refresh(task)
    else:
        set_committed_value(task, "next_task_id", next_id)


def _next_ids(user_id: str, task: Task, subtasks) -> tuple[uuid.UUID, list]:
    """The ids of the next occurrence and of its copies of `subtasks`: the same
    each time (see the module's docstring), unless live rows hold them."""
    next_id = uuid.uuid5(NEXT_OCCURRENCE, str(task.id))
    copy_ids = [uuid.uuid5(next_id, str(subtask.id)) for subtask in subtasks]
    taken = _make_room(user_id, next_id, copy_ids)
    if next_id in taken:
        return uuid.uuid4(), [uuid.uuid4() for _ in subtasks]
    return next_id, [uuid.uuid4() if id_ in taken else id_ for id_ in copy_ids]


def _make_room(user_id: str, next_id, copy_ids: list) -> set:
    """Remove for good what an undone completion left of the occurrence
    `next_id` and its copies: their rows are about to be written again, under the
    same ids, so the change feed reports them live again (a newer change than the
    deletion), and no client is left holding one. The ids taken by live rows
    (normally none; a copy moved to another parent stays) are returned, for fresh
    ones to be used instead.

    The occurrence's other soft-deleted subtasks (copies of subtasks since
    removed) stay, as deletions the feed reports, but no longer under it."""
    ours = {next_id, *copy_ids}
    rows = Session.execute(
        select(TASKS.id, TASKS.deleted_at).where(
            *of_user(user_id, TASKS),
            or_(TASKS.id.in_(ours), TASKS.parent_id == next_id),
        )
    ).all()
    taken = {row.id for row in rows if row.deleted_at is None}
    if next_id in taken or taken - ours:  # live under it: leave it all alone
        return taken | {next_id}
    tombstones = [row.id for row in rows if row.id in ours and row.id not in taken]
    orphans = [row.id for row in rows if row.id not in ours]
    if orphans:
        Session.execute(
            update(Task.__table__)
            .where(*of_user(user_id, TASKS), TASKS.id.in_(orphans))
            .values(parent_id=None)
        )
    if tombstones:
        # SQLite does not cascade: the reminder rows go first
        Session.execute(delete(Reminder).where(Reminder.task_id.in_(tombstones)))
        Session.execute(
            delete(Task.__table__).where(
                *of_user(user_id, TASKS),
                TASKS.id.in_(tombstones),
                TASKS.deleted_at.is_not(None),
            )
        )
    return taken


def _untouched(user_id: str, next_task) -> bool:
    """The occurrence and its subtasks are as its creation left them."""
    if next_task.version != 1:
        return False
    changed = Session.execute(
        select(TASKS.id)
        .where(
            *of_user(user_id, TASKS),
            TASKS.parent_id == next_task.id,
            or_(
                TASKS.version != 1,
                TASKS.deleted_at.is_not(None),
                TASKS.created_at != next_task.created_at,
            ),
        )
        .limit(1)
    ).first()
    return changed is None


def _undo_next(user_id: str, task: Task) -> None:
    """Reopened: the occurrence its completion created goes if untouched (and
    next_task_id is cleared); a changed one stays, and stays its next, so a new
    completion does not create a second one."""
    next_task = Session.execute(
        select(TASKS.id, TASKS.version, TASKS.created_at)
        .where(*owned(user_id, TASKS), TASKS.id == task.next_task_id)
        .with_for_update()
    ).first()
    if next_task is not None and not _untouched(user_id, next_task):
        return
    if next_task is not None:
        now = utcnow()
        Session.execute(
            update(Task.__table__)
            .where(
                *owned(user_id, TASKS),
                or_(TASKS.id == next_task.id, TASKS.parent_id == next_task.id),
            )
            .values(deleted_at=now, changed_by=task.changed_by)
        )
    Session.execute(
        update(Task.__table__)
        .where(*owned(user_id, TASKS), TASKS.id == task.id)
        .values(next_task_id=None)
    )
    set_committed_value(task, "next_task_id", None)
