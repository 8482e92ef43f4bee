"""Creating, changing and deleting tasks, each scoped to its user (core/scope.py);
completion is in completion.py, moves in ordering.py."""

import functools
import uuid

from fractional_indexing import generate_n_keys_between
from sqlalchemy import Row, bindparam, delete, exists, insert, select, update

from ..changes.service import record_purge
from ..core.columns import utcnow
from ..core.db import Session, begin_transaction
from ..core.errors import too_busy
from ..core.etags import IfMatch
from ..core.prepared import prepared
from ..core.scope import USER_ID, owned
from ..core.timeouts import lift_statement_timeout
from ..lists.models import TaskList
from ..recurrence.occurrences import (
    check_recurrence,
    follow_status_change,
    same_recurrence,
    stored_reminders,
)
from ..reminders.models import Reminder
from ..reminders.service import write_reminders
from .completion import new_status, status_on_create
from .guarded_writes import MAX_WRITE_ATTEMPTS, guarded_update, read_for_write
from .lookup import TASK_ID, task_uuid
from .models import PRIORITY_RANK, TASKS, Task, task_columns
from .ordering import append_position, place_parameters, position_after_last
from .subtasks import (
    Place,
    check_assignee,
    move_subtasks,
    place_of,
    places_anything,
    resolve_place,
)


@functools.lru_cache(maxsize=4)
def _insert_statement(in_a_list: bool, a_subtask: bool):
    """An INSERT that appends the task to its sibling group (one statement)."""
    return prepared(
        insert(Task.__table__)
        .values(position=append_position(in_a_list, a_subtask))
        .returning(*task_columns())
    )


def add_task(user_id: str, fields: dict) -> Row:
    """Insert a new task after its siblings (not committed), the columns'
    defaults filling what `fields` leaves out; the task as inserted, as a row
    (see task_columns). A list or parent in `fields` needs a transaction."""
    now = utcnow()
    status = status_on_create(fields)
    place = resolve_place(user_id, None, fields) if places_anything(fields) else None
    place = place or Place(None, None, user_id)
    check_assignee(fields.get("assignee_id"), place)
    recurrence = fields.get("recurrence")
    check_recurrence(recurrence, fields.get("due_date"), place.parent_id)
    reminders = stored_reminders(fields.get("reminders", []), fields.get("due_date"))
    values = {
        **fields,
        "user_id": place.user_id,
        "created_by": user_id,
        "changed_by": user_id,
        "priority": PRIORITY_RANK[fields["priority"]],  # the column holds the rank
        "status": status,
        "completed": status == "completed",
        "completed_at": now if status == "completed" else None,
        "list_id": place.list_id,
        "parent_id": place.parent_id,
        "created_at": now,
        "updated_at": now,
    }
    if recurrence is not None:  # the first of its series
        values["id"] = values["series_id"] = uuid.uuid4()
    if reminders:
        values["reminders"] = reminders
    else:
        values.pop("reminders", None)
    statement = _insert_statement(
        place.list_id is not None, place.parent_id is not None
    )
    task = Session.execute(statement, values | place_parameters(place)).one()
    if reminders:
        write_reminders(task, reminders, new=True)
    return task


def needs_transaction(fields: dict) -> bool:
    """Does a create write more than its one row (and so need a transaction)?"""
    return places_anything(fields) or bool(fields.get("reminders"))


# What a create in the inbox may carry to be appended in bulk (add_inbox_tasks).
BULK_FIELDS = frozenset(
    {"title", "description", "priority", "tags", "due_date", "status", "completed"}
)


def can_add_in_bulk(fields: dict) -> bool:
    return fields.keys() <= BULK_FIELDS


def new_task_row(user_id: str, fields: dict, now) -> dict:
    """The columns a create writes from its checked fields, made by `user_id`
    at `now`, whose place is theirs; the caller adds the id and the place."""
    status = status_on_create(fields)
    completed = status == "completed"
    return {
        "user_id": user_id,
        "created_by": user_id,
        "changed_by": user_id,
        "title": fields["title"],
        "description": fields.get("description"),
        "priority": PRIORITY_RANK[fields["priority"]],
        "due_date": fields.get("due_date"),
        "tags": fields.get("tags", []),
        "status": status,
        "completed": completed,
        "completed_at": now if completed else None,
        "created_at": now,
        "updated_at": now,
    }


def add_inbox_tasks(user_id: str, fields_list: list[dict]) -> list[Row]:
    """Append tasks to the inbox, in order, with one read of its last position
    and one INSERT (a batch's run of plain creates): what add_task would insert
    for each (can_add_in_bulk), not committed."""
    now = utcnow()
    first = position_after_last(Place(None, None, user_id))
    positions = [first, *generate_n_keys_between(first, None, len(fields_list) - 1)]
    rows = []
    for fields, position in zip(fields_list, positions, strict=True):
        row = new_task_row(user_id, fields, now)
        rows.append(row | {"id": uuid.uuid4(), "position": position})
    statement = insert(Task.__table__).returning(
        *task_columns(), sort_by_parameter_order=True
    )
    return Session.execute(statement, rows).all()


def create_task(user_id: str, fields: dict) -> Row:
    """One statement in the inbox (the INSERT computes the position); in a list
    or under a parent, or with reminders, one transaction."""
    if needs_transaction(fields):
        begin_transaction()
    task = add_task(user_id, fields)
    Session.commit()
    return task


def update_task(
    user_id: str, task_id: str, fields: dict, if_match: IfMatch | None = None
) -> Task:
    """Apply the fields that differ from the task's values; no difference, no
    write. A new list or parent puts the task after its new siblings; its
    subtasks follow it to a new list."""
    plain = {k: v for k, v in fields.items() if k not in PLACE_AND_STATUS}
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = read_for_write(user_id, task_id, if_match)
        changes = {
            name: value for name, value in plain.items() if getattr(task, name) != value
        }
        now = utcnow()
        status = new_status(task, fields)
        if status != task.status:
            changes["status"] = status
            changes["completed"] = status == "completed"
            changes["completed_at"] = now if status == "completed" else None
        place = resolve_place(user_id, task, fields)
        if place != place_of(task):
            changes.update(place._asdict(), position=position_after_last(place))
        if "assignee_id" in changes or place != place_of(task):
            check_assignee(changes.get("assignee_id", task.assignee_id), place)
        changes.update(_recurrence_changes(task, fields, place))
        reminders = _reminder_changes(task, fields, changes)
        if not changes:
            Session.commit()
            return task
        if "priority" in changes:
            changes["priority_rank"] = PRIORITY_RANK[changes.pop("priority")]
        old_list, old_owner, old_status = task.list_id, task.user_id, task.status
        updated = guarded_update(
            task,
            **changes,
            updated_at=now,
            changed_by=user_id,
            version=Task.version + 1,
        )
        if updated is not None:
            if updated.list_id != old_list and updated.parent_id is None:
                move_subtasks(old_owner, updated, now)
            if reminders is not None:
                write_reminders(updated, reminders, new=False)
            follow_status_change(updated.user_id, old_status, updated)
            Session.commit()
            return updated
    raise too_busy()


PLACE_AND_STATUS = frozenset(
    {"list_id", "parent_id", "status", "completed", "recurrence", "reminders"}
)


def _recurrence_changes(task: Task, fields: dict, place: Place) -> dict:
    """A new recurrence (422 if the task may not have it), and its series."""
    recurrence = fields.get("recurrence", task.recurrence)
    check_recurrence(recurrence, fields.get("due_date", task.due_date), place.parent_id)
    if "recurrence" not in fields or same_recurrence(task.recurrence, recurrence):
        return {}
    series_id = None if recurrence is None else (task.series_id or task.id)
    return {"recurrence": recurrence, "series_id": series_id}


def _reminder_changes(task: Task, fields: dict, changes: dict) -> list | None:
    """The task's reminders when the write changes them (given, or their due
    date moved), put in `changes`; None when they stay as they are."""
    if "reminders" not in fields and "due_date" not in changes:
        return None
    given = fields.get("reminders", task.reminders)
    reminders = stored_reminders(given, changes.get("due_date", task.due_date))
    if reminders == task.reminders:
        return None
    changes["reminders"] = reminders
    return reminders


# On the table, not the entity: a write that returns nothing needs none of the
# ORM's bulk-UPDATE bookkeeping, and the statement, built once, keeps its cache key.
_DELETED = {
    "deleted_at": bindparam("now", type_=Task.deleted_at.type),
    "changed_by": bindparam("actor", type_=Task.changed_by.type),
}
# The first: a task in the user's own places; a shared list's goes by the
# locked read, which checks the user's role there.
_SOFT_DELETE = prepared(
    update(Task.__table__)
    .where(*owned(USER_ID, TASKS), TASKS.id == TASK_ID)
    .values(**_DELETED)
)
_SOFT_DELETE_SUBTASKS = prepared(
    update(Task.__table__)
    .where(*owned(USER_ID, TASKS), TASKS.parent_id == TASK_ID)
    .values(**_DELETED)
)


def soft_delete(user_id: str, task_id: str, if_match: IfMatch | None = None) -> None:
    """The task and its subtasks, in one transaction. The subtasks' UPDATE is a
    statement of its own: it sees every subtask committed while the first one
    waited for the task's row (a create under it holds the row locked)."""
    parameters = {"owner_id": user_id, "task_uuid": task_uuid(task_id)}
    parameters["actor"] = user_id
    if if_match is None:
        begin_transaction()
        parameters["now"] = utcnow()
        if Session.execute(_SOFT_DELETE, parameters).rowcount == 1:
            Session.execute(_SOFT_DELETE_SUBTASKS, parameters)
            Session.commit()
            return
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = read_for_write(user_id, task_id, if_match)
        now = utcnow()
        if guarded_update(task, deleted_at=now, changed_by=user_id) is not None:
            Session.execute(
                _SOFT_DELETE_SUBTASKS,
                {**parameters, "owner_id": task.user_id, "now": now},
            )
            Session.commit()
            return
    raise too_busy()


def purge_deleted(before) -> int:
    """Remove soft-deleted tasks for good (the CLI's purge-deleted), then the
    deleted lists no task refers to any more. Their reminder rows go first:
    SQLite, without its foreign-key enforcement, does not cascade. One
    transaction, exempt from the statement timeout: a first purge may remove
    millions of rows."""
    begin_transaction()
    lift_statement_timeout(Session.connection())
    purged = select(Task.id).where(
        Task.deleted_at.is_not(None), Task.deleted_at < before
    )
    record_purge(
        purged,
        select(TaskList.id).where(
            TaskList.deleted_at.is_not(None), TaskList.deleted_at < before
        ),
    )
    Session.execute(delete(Reminder).where(Reminder.task_id.in_(purged)))
    result = Session.execute(
        delete(Task).where(Task.deleted_at.is_not(None), Task.deleted_at < before)
    )
    Session.execute(
        delete(TaskList).where(
            TaskList.deleted_at.is_not(None),
            TaskList.deleted_at < before,
            ~exists().where(TASKS.list_id == TaskList.id),
        )
    )
    Session.commit()
    return result.rowcount
