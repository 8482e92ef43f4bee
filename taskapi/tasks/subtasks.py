"""A task's place: its list and its parent (the subtask rules), every reference
checked and held locked until the write commits. Its position among the
siblings there is ordering.py's."""

import uuid
from typing import NamedTuple

from sqlalchemy import Row, exists, func, select, update
from werkzeug.exceptions import Conflict

from ..core.db import Session
from ..core.errors import invalid, too_busy
from ..core.prepared import prepared
from ..core.scope import USER_ID, owned
from ..lists.models import LIST_NOT_FOUND, LISTS
from .lookup import LIST_ID, PARENT_ID, TASK_ID, TASK_NOT_FOUND
from .models import TASKS, Task

# A parent's live subtasks; every route that gives a task a parent checks it here.
MAX_SUBTASKS = 100


class Place(NamedTuple):
    list_id: uuid.UUID | None
    parent_id: uuid.UUID | None


_SHARED_LIST = select(LISTS.id).where(*owned(USER_ID, LISTS), LISTS.id == LIST_ID)
_SHARED_PARENT = select(TASKS.list_id, TASKS.parent_id).where(
    *owned(USER_ID, TASKS), TASKS.id == PARENT_ID
)
_HAS_SUBTASKS = select(
    exists().where(*owned(USER_ID, TASKS), TASKS.parent_id == TASK_ID)
)
_SUBTASK_COUNT = prepared(
    select(func.count()).where(*owned(USER_ID, TASKS), TASKS.parent_id == PARENT_ID)
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
    top-level task. `lock`: held FOR NO KEY UPDATE until this transaction ends:
    its deletion, its becoming a subtask, and any other placement of a subtask
    under it wait, so that their counts of its subtasks cannot both pass."""
    statement = (
        _SHARED_PARENT.with_for_update(key_share=True) if lock else _SHARED_PARENT
    )
    parent = Session.execute(
        statement, {"owner_id": user_id, "parent_uuid": parent_id}
    ).first()
    if parent is None:
        raise invalid("parent_id", TASK_NOT_FOUND)
    if parent.parent_id is not None:
        raise invalid("parent_id", "That task is a subtask: subtasks have none.")
    return parent


def _parent_in_its_list(user_id: str, parent_id: uuid.UUID, current: Place):
    """The parent's list, both locked: the list first, as a list's delete locks
    the list, then its tasks (the other order deadlocks). 409 if the parent has
    MAX_SUBTASKS already."""
    list_id = _referenced_parent(user_id, parent_id, lock=False).list_id
    if list_id is not None and list_id != current.list_id:
        _referenced_list(user_id, list_id)
    if _referenced_parent(user_id, parent_id, lock=True).list_id != list_id:
        raise too_busy()  # it moved to another list just now
    # Counted after the lock, in a statement of its own: it sees the subtasks of
    # the placement that held the lock before (READ COMMITTED).
    count = Session.execute(
        _SUBTASK_COUNT, {"owner_id": user_id, "parent_uuid": parent_id}
    ).scalar()
    if count >= MAX_SUBTASKS:
        raise Conflict(
            f"At most {MAX_SUBTASKS} subtasks per task: this one has {count}."
        )
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


_SUBTASKS_FOLLOW = update(Task.__table__).where(
    *owned(USER_ID, TASKS),
    TASKS.parent_id == TASK_ID,
    TASKS.list_id.is_distinct_from(LIST_ID),
)


def move_subtasks(user_id: str, parent_id, list_id, now) -> None:
    """A subtask is always in its parent's list: they move with it."""
    Session.execute(
        _SUBTASKS_FOLLOW.values(
            list_id=LIST_ID, updated_at=now, version=TASKS.version + 1
        ),
        {"owner_id": user_id, "task_uuid": parent_id, "list_uuid": list_id},
    )
