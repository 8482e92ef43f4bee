"""Every statement that reads or writes tasks and lists, scoped to one user by
`owned()` and `owned_list()` (the listing's statements are in listing.py, the
moves' in ordering.py, with the same scopes).

A task or list that is soft-deleted or belongs to someone else is, to these
functions, one that does not exist: as a path, 404; referenced from a body
(`list_id`, `parent_id`), 422 on that field with the same words.
"""

import functools
import uuid
from typing import NamedTuple

from fractional_indexing import generate_key_between
from sqlalchemy import (
    Row,
    String,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict, NotFound, ServiceUnavailable

from .db import Session, begin_transaction, lock_for_transaction
from .errors import invalid
from .etags import IfMatch
from .models import PRIORITY_RANK, Task, TaskList, utcnow
from .prepared import prepared

TASK_NOT_FOUND = "Task not found."
LIST_NOT_FOUND = "List not found."
MAX_LISTS = 200


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


def owned_list(user_id: str, lists=TaskList):
    """The WHERE clause every list query carries: this user's live lists."""
    return lists.user_id == user_id, lists.deleted_at.is_(None)


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


def _task_uuid(task_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise NotFound(TASK_NOT_FOUND) from None


# Statements of the hot paths, built once; the user and the task are bound per call.
_USER_ID = bindparam("owner_id", type_=String)
_TASK_ID = bindparam("task_uuid", type_=Task.id.type)
_LIST_ID = bindparam("list_uuid", type_=Task.list_id.type)
_PARENT_ID = bindparam("parent_uuid", type_=Task.parent_id.type)
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


# Places: a task's list and parent, and its position among their siblings -----


class Place(NamedTuple):
    list_id: uuid.UUID | None
    parent_id: uuid.UUID | None


@functools.lru_cache(maxsize=4)
def _last_position_statement(in_a_list: bool, a_subtask: bool):
    group = siblings(
        _USER_ID, _LIST_ID if in_a_list else None, _PARENT_ID if a_subtask else None
    )
    return prepared(
        select(TASKS.position)
        .where(*group)
        .order_by(TASKS.position.desc(), TASKS.id.desc())
        .limit(1)
    )


def position_after_last(user_id: str, place: Place) -> str:
    """The position that puts a task after every sibling of `place`.

    Not serialised with moves (ordering.py): two tasks appended at once may get
    one position (the id then orders them, and the next move between them
    renumbers), and a renumbering keeps its group's last position, so what is
    appended after it meanwhile still comes last."""
    statement = _last_position_statement(
        place.list_id is not None, place.parent_id is not None
    )
    last = Session.execute(
        statement,
        {
            "owner_id": user_id,
            "list_uuid": place.list_id,
            "parent_uuid": place.parent_id,
        },
    ).scalar()
    return generate_key_between(last, None)


_SHARED_LIST = select(LISTS.id).where(
    *owned_list(_USER_ID, LISTS), LISTS.id == _LIST_ID
)
_SHARED_PARENT = select(TASKS.list_id, TASKS.parent_id).where(
    *owned(_USER_ID, TASKS), TASKS.id == _PARENT_ID
)
_HAS_SUBTASKS = select(
    exists().where(*owned(_USER_ID, TASKS), TASKS.parent_id == _TASK_ID)
)


def _referenced_list(user_id: str, list_id: uuid.UUID) -> None:
    """The list is the user's and live (else 422 on `list_id`), and stays so
    until this transaction ends: FOR SHARE, which a deleting transaction waits
    for, so no live task is left in a deleted list."""
    found = Session.execute(
        _SHARED_LIST.with_for_update(read=True),
        {"owner_id": user_id, "list_uuid": list_id},
    ).first()
    if found is None:
        raise invalid("list_id", LIST_NOT_FOUND)


def _referenced_parent(user_id: str, parent_id: uuid.UUID, lock: bool) -> Row:
    """The would-be parent; 422 on `parent_id` unless it is the user's live
    top-level task. `lock`: held FOR SHARE until this transaction ends (its
    deletion, or its becoming a subtask, waits for it)."""
    statement = _SHARED_PARENT.with_for_update(read=True) if lock else _SHARED_PARENT
    parent = Session.execute(
        statement, {"owner_id": user_id, "parent_uuid": parent_id}
    ).first()
    if parent is None:
        raise invalid("parent_id", TASK_NOT_FOUND)
    if parent.parent_id is not None:
        raise invalid("parent_id", "That task is a subtask: subtasks have none.")
    return parent


def _parent_in_its_list(user_id: str, parent_id: uuid.UUID, current: Place):
    """The parent's list, both held FOR SHARE: the list first, as a list's
    delete locks the list, then its tasks (the other order deadlocks)."""
    list_id = _referenced_parent(user_id, parent_id, lock=False).list_id
    if list_id is not None and list_id != current.list_id:
        _referenced_list(user_id, list_id)
    if _referenced_parent(user_id, parent_id, lock=True).list_id != list_id:
        raise too_busy()  # it moved to another list just now
    return list_id


def has_subtasks(user_id: str, task_id: uuid.UUID) -> bool:
    return bool(
        Session.execute(
            _HAS_SUBTASKS, {"owner_id": user_id, "task_uuid": task_id}
        ).scalar()
    )


def resolve_place(user_id: str, task, fields: dict) -> Place:
    """Where a task created with `fields` (task None), or `task` changed by
    them, belongs: the subtask rules, with every reference checked (422).
    Run inside a transaction: the references stay locked until it ends."""
    current = Place(None, None) if task is None else Place(task.list_id, task.parent_id)
    parent_id = fields.get("parent_id", current.parent_id)
    list_given = "list_id" in fields
    if parent_id is not None:
        if task is not None and parent_id == task.id:
            raise invalid("parent_id", "A task cannot be its own parent.")
        if parent_id == current.parent_id:
            list_id = current.list_id
        else:
            list_id = _parent_in_its_list(user_id, parent_id, current)
            if task is not None and has_subtasks(user_id, task.id):
                raise invalid(
                    "parent_id", "This task has subtasks: it cannot become one."
                )
        if list_given and fields["list_id"] != list_id:
            raise invalid("list_id", "A subtask is always in its parent's list.")
        return Place(list_id, parent_id)
    list_id = fields["list_id"] if list_given else current.list_id
    if list_id is not None and list_id != current.list_id:
        _referenced_list(user_id, list_id)
    return Place(list_id, None)


def places_anything(fields: dict) -> bool:
    """Does a create name a list or a parent (and so need a transaction)?"""
    return fields.get("list_id") is not None or fields.get("parent_id") is not None


# Creating a task ----------------------------------------------------------------

_INSERT = prepared(insert(Task.__table__).returning(*task_columns()))


def _status_on_create(fields: dict) -> str:
    if "status" in fields:
        return fields["status"]
    return "completed" if fields.get("completed") else "pending"


def add_task(user_id: str, fields: dict) -> Row:
    """Insert a new task after its siblings (not committed), the columns'
    defaults filling what `fields` leaves out; the task as inserted, as a row
    (see task_columns). A list or parent in `fields` needs a transaction."""
    now = utcnow()
    status = _status_on_create(fields)
    place = resolve_place(user_id, None, fields) if places_anything(fields) else None
    place = place or Place(None, None)
    values = {
        **fields,
        "user_id": user_id,
        "priority": PRIORITY_RANK[fields["priority"]],  # the column holds the rank
        "status": status,
        "completed": status == "completed",
        "completed_at": now if status == "completed" else None,
        "list_id": place.list_id,
        "parent_id": place.parent_id,
        "position": position_after_last(user_id, place),
        "created_at": now,
        "updated_at": now,
    }
    return Session.execute(_INSERT, values).one()


def create_task(user_id: str, fields: dict) -> Row:
    """Two statements in the inbox (the last position, the INSERT); in a list
    or under a parent, one transaction that holds them while it inserts."""
    if places_anything(fields):
        begin_transaction()
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


def locked_task(user_id: str, task_id: str, if_match: IfMatch | None) -> Task:
    """The task, its row locked (FOR UPDATE on PostgreSQL) until the transaction
    ends; 404 if it is not the user's, 412 if If-Match does not match it."""
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


def _read_for_write(user_id: str, task_id: str, if_match: IfMatch | None) -> Task:
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


def too_busy():
    return ServiceUnavailable(
        "The task is being changed by other requests right now; retry.",
        retry_after=1,
    )


def _new_status(task: Task, fields: dict) -> str:
    """`status` if given; `completed: true` means completed; `completed: false`
    reopens a completed task (pending) and leaves any other alone."""
    if "status" in fields:
        return fields["status"]
    if "completed" not in fields:
        return task.status
    if fields["completed"]:
        return "completed"
    return "pending" if task.status == "completed" else task.status


_SUBTASKS_FOLLOW = update(Task.__table__).where(
    *owned(_USER_ID, TASKS),
    TASKS.parent_id == _TASK_ID,
    TASKS.list_id.is_distinct_from(_LIST_ID),
)


def move_subtasks(user_id: str, parent_id, list_id, now) -> None:
    """A subtask is always in its parent's list: they move with it."""
    Session.execute(
        _SUBTASKS_FOLLOW.values(
            list_id=_LIST_ID, updated_at=now, version=TASKS.version + 1
        ),
        {"owner_id": user_id, "task_uuid": parent_id, "list_uuid": list_id},
    )


def update_task(
    user_id: str, task_id: str, fields: dict, if_match: IfMatch | None = None
) -> Task:
    """Apply the fields that differ from the task's values; no difference, no
    write. A new list or parent puts the task after its new siblings; its
    subtasks follow it to a new list."""
    plain = {k: v for k, v in fields.items() if k not in PLACE_AND_STATUS}
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = _read_for_write(user_id, task_id, if_match)
        changes = {
            name: value for name, value in plain.items() if getattr(task, name) != value
        }
        now = utcnow()
        status = _new_status(task, fields)
        if status != task.status:
            changes["status"] = status
            changes["completed"] = status == "completed"
            changes["completed_at"] = now if status == "completed" else None
        place = resolve_place(user_id, task, fields)
        if place != (task.list_id, task.parent_id):
            changes.update(
                place._asdict(), position=position_after_last(user_id, place)
            )
        if not changes:
            Session.commit()
            return task
        if "priority" in changes:
            changes["priority_rank"] = PRIORITY_RANK[changes.pop("priority")]
        old_list = task.list_id
        updated = guarded_update(
            task, **changes, updated_at=now, version=Task.version + 1
        )
        if updated is not None:
            if updated.list_id != old_list and updated.parent_id is None:
                move_subtasks(user_id, updated.id, updated.list_id, now)
            Session.commit()
            return updated
    raise too_busy()


PLACE_AND_STATUS = frozenset({"list_id", "parent_id", "status", "completed"})


def _completion_values(completed: bool | None, now=None, tasks=Task) -> dict:
    """SET clause of a completion write: toggled (None) or set, computed by the
    database from the row's current status. `tasks`: as for owned()."""
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
        updated = guarded_update(task, **_completion_values(completed))
        if updated is not None:
            Session.commit()
            return updated
    raise too_busy()


# On the table, not the entity: a write that returns nothing needs none of the
# ORM's bulk-UPDATE bookkeeping, and the statement, built once, keeps its cache key.
_SOFT_DELETE = prepared(
    update(Task.__table__)
    .where(*owned(_USER_ID, TASKS), TASKS.id == _TASK_ID)
    .values(deleted_at=bindparam("now", type_=Task.deleted_at.type))
)
_SOFT_DELETE_SUBTASKS = prepared(
    update(Task.__table__)
    .where(*owned(_USER_ID, TASKS), TASKS.parent_id == _TASK_ID)
    .values(deleted_at=bindparam("now", type_=Task.deleted_at.type))
)


def soft_delete(user_id: str, task_id: str, if_match: IfMatch | None = None) -> None:
    """The task and its subtasks, in one transaction. The subtasks' UPDATE is a
    statement of its own: it sees every subtask committed while the first one
    waited for the task's row (a create under it holds the row FOR SHARE)."""
    parameters = {"owner_id": user_id, "task_uuid": _task_uuid(task_id)}
    if if_match is None:
        begin_transaction()
        parameters["now"] = utcnow()
        if Session.execute(_SOFT_DELETE, parameters).rowcount == 0:
            Session.rollback()
            raise NotFound(TASK_NOT_FOUND)
        Session.execute(_SOFT_DELETE_SUBTASKS, parameters)
        Session.commit()
        return
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        task = _read_for_write(user_id, task_id, if_match)
        now = utcnow()
        if guarded_update(task, deleted_at=now) is not None:
            Session.execute(_SOFT_DELETE_SUBTASKS, {**parameters, "now": now})
            Session.commit()
            return
    raise too_busy()


def purge_deleted(before) -> int:
    """Remove soft-deleted tasks for good (the CLI's purge-deleted), then the
    deleted lists no task refers to any more."""
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


# Lists --------------------------------------------------------------------------


def _list_uuid(list_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(list_id)
    except ValueError:
        raise NotFound(LIST_NOT_FOUND) from None


def name_key(name: str) -> str:
    """What makes two names the same name: letter case ignored (casefold, so
    "STRASSE" and "straße" are one name too)."""
    return name.casefold()


def get_lists(user_id: str) -> list[TaskList]:
    return Session.scalars(
        select(TaskList)
        .where(*owned_list(user_id))
        .order_by(TaskList.created_at, TaskList.id)
    ).all()


def get_list(user_id: str, list_id: str) -> TaskList:
    found = Session.scalars(
        select(TaskList).where(*owned_list(user_id), TaskList.id == _list_uuid(list_id))
    ).one_or_none()
    if found is None:
        raise NotFound(LIST_NOT_FOUND)
    return found


def _duplicate_name():
    return Conflict("You already have a list with this name (letter case ignored).")


def _name_taken(user_id: str, key: str, other_than=None) -> bool:
    same = select(TaskList.id).where(*owned_list(user_id), TaskList.name_key == key)
    if other_than is not None:
        same = same.where(TaskList.id != other_than)
    return Session.execute(same.limit(1)).first() is not None


def _committed_or_conflict() -> None:
    """Commit; a unique-name violation (a concurrent request took the name
    between the check and the write) is the same 409 as the check's."""
    try:
        Session.commit()
    except IntegrityError:
        Session.rollback()
        raise _duplicate_name() from None


def create_list(user_id: str, fields: dict) -> TaskList:
    """One transaction that holds the user's lists lock, so that two creates
    cannot both pass the count of 200."""
    begin_transaction()
    lock_for_transaction(f"lists:{user_id}")
    count = Session.execute(
        select(func.count()).select_from(TaskList).where(*owned_list(user_id))
    ).scalar()
    if count >= MAX_LISTS:
        raise Conflict(f"At most {MAX_LISTS} lists per user: delete one first.")
    key = name_key(fields["name"])
    if _name_taken(user_id, key):
        raise _duplicate_name()
    now = utcnow()
    created = TaskList(
        user_id=user_id,
        name=fields["name"],
        name_key=key,
        created_at=now,
        updated_at=now,
    )
    Session.add(created)
    _committed_or_conflict()
    return created


def _locked_list(user_id: str, list_id: str, if_match: IfMatch | None) -> TaskList:
    """The list, locked until the transaction ends: FOR NO KEY UPDATE, which
    waits for the creates holding it FOR SHARE but not for the foreign-key
    checks of their INSERTs (FOR UPDATE would, and deadlock with them)."""
    Session.rollback()
    begin_transaction()
    found = Session.scalars(
        select(TaskList)
        .where(*owned_list(user_id), TaskList.id == _list_uuid(list_id))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if found is None:
        raise NotFound(LIST_NOT_FOUND)
    if if_match is not None:
        if_match.check(found)
    return found


def update_list(
    user_id: str, list_id: str, fields: dict, if_match: IfMatch | None = None
) -> TaskList:
    """Rename (the only field); the same name is no change."""
    found = _locked_list(user_id, list_id, if_match)
    if "name" not in fields or fields["name"] == found.name:
        Session.commit()
        return found
    key = name_key(fields["name"])
    if _name_taken(user_id, key, other_than=found.id):
        raise _duplicate_name()
    found.name, found.name_key = fields["name"], key
    found.updated_at = utcnow()
    found.version += 1
    _committed_or_conflict()
    return found


def delete_list(user_id: str, list_id: str, if_match: IfMatch | None = None) -> None:
    """Soft-delete the list and every task in it (subtasks included: they are in
    their parent's list). The list's row is locked first: a create into it
    holds it FOR SHARE, so the tasks' UPDATE, a statement of its own, sees every
    task added before."""
    found = _locked_list(user_id, list_id, if_match)
    now = utcnow()
    found.deleted_at = now
    found.version += 1
    Session.flush()
    Session.execute(
        update(Task.__table__)
        .where(*owned(user_id, TASKS), TASKS.list_id == found.id)
        .values(deleted_at=now)
    )
    Session.commit()
