"""A task's place: its list and its parent (the subtask rules), every reference
checked and held locked until the write commits, and the owner of the place,
which becomes the task's user_id (core/scope.py). Its position among the
siblings there is ordering.py's."""

import uuid
from typing import NamedTuple

from sqlalchemy import Row, exists, func, select, update
from werkzeug.exceptions import Conflict

from ..core.db import Session
from ..core.errors import invalid, too_busy
from ..core.prepared import prepared
from ..core.scope import (
    USER_ID,
    owned,
    require_writer,
    role_in,
    seen_lists,
    seen_tasks,
)
from ..lists.models import LIST_NOT_FOUND, LISTS
from .lookup import LIST_ID, PARENT_ID, TASK_ID, TASK_NOT_FOUND
from .models import TASKS, Task

# A parent's live subtasks; every route that gives a task a parent checks it here.
MAX_SUBTASKS = 100


class Place(NamedTuple):
    list_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    # the owner of the place (the list's, or the inbox's user): the task's user_id
    user_id: str | None = None


def place_of(task) -> Place:
    return Place(task.list_id, task.parent_id, task.user_id)


_SEEN_LIST = select(LISTS.id, LISTS.user_id).where(
    *seen_lists(USER_ID, LISTS), LISTS.id == LIST_ID
)
_SEEN_PARENT = select(TASKS.list_id, TASKS.parent_id, TASKS.user_id).where(
    *seen_tasks(USER_ID, TASKS), TASKS.id == PARENT_ID
)
_HAS_SUBTASKS = select(
    exists().where(*owned(USER_ID, TASKS), TASKS.parent_id == TASK_ID)
)
_SUBTASK_COUNT = prepared(
    select(func.count()).where(*owned(USER_ID, TASKS), TASKS.parent_id == PARENT_ID)
)


def _referenced_list(user_id: str, list_id: uuid.UUID) -> str:
    """The list is one the user sees, live (else 422 on `list_id`), and may put
    tasks in (else 403), and stays so until this transaction ends: FOR SHARE,
    which a deleting transaction waits for, so no live task is left in a deleted
    list. Its owner."""
    found = Session.execute(
        _SEEN_LIST.with_for_update(read=True, of=LISTS.id.table),
        {"owner_id": user_id, "list_uuid": list_id},
    ).first()
    if found is None:
        raise invalid("list_id", LIST_NOT_FOUND)
    require_writer(user_id, found.user_id, list_id, invalid("list_id", LIST_NOT_FOUND))
    return found.user_id


def _referenced_parent(user_id: str, parent_id: uuid.UUID, lock: bool) -> Row:
    """The would-be parent; 422 on `parent_id` unless it is the user's live
    top-level task. `lock`: held FOR NO KEY UPDATE until this transaction ends:
    its deletion, its becoming a subtask, and any other placement of a subtask
    under it wait, so that their counts of its subtasks cannot both pass."""
    statement = (
        _SEEN_PARENT.with_for_update(key_share=True, of=TASKS.id.table)
        if lock
        else _SEEN_PARENT
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
    """The parent's place, the list and the parent locked: the list first, as a
    list's delete locks the list, then its tasks (the other order deadlocks).
    403 if the user is a viewer there; 409 if the parent has MAX_SUBTASKS
    already."""
    parent = _referenced_parent(user_id, parent_id, lock=False)
    list_id = parent.list_id
    if list_id is not None and list_id != current.list_id:
        _referenced_list(user_id, list_id)
    else:
        require_writer(
            user_id, parent.user_id, list_id, invalid("parent_id", TASK_NOT_FOUND)
        )
    locked = _referenced_parent(user_id, parent_id, lock=True)
    if (locked.list_id, locked.user_id) != (list_id, parent.user_id):
        raise too_busy()  # it moved to another list just now
    # Counted after the lock, in a statement of its own: it sees the subtasks of
    # the placement that held the lock before (READ COMMITTED).
    count = Session.execute(
        _SUBTASK_COUNT, {"owner_id": parent.user_id, "parent_uuid": parent_id}
    ).scalar()
    if count >= MAX_SUBTASKS:
        raise Conflict(
            f"At most {MAX_SUBTASKS} subtasks per task: this one has {count}."
        )
    return Place(list_id, parent_id, parent.user_id)


def has_subtasks(user_id: str, task_id: uuid.UUID) -> bool:
    return bool(
        Session.execute(
            _HAS_SUBTASKS, {"owner_id": user_id, "task_uuid": task_id}
        ).scalar()
    )


def resolve_place(user_id: str, task, fields: dict) -> Place:
    """Where a task created by `user_id` with `fields` (task None), or `task`
    changed by them, belongs: the subtask rules, with every reference checked
    (422; 403 for a place the user only views), and the place's owner. Run
    inside a transaction: the references stay locked until it ends."""
    current = Place(None, None, user_id) if task is None else place_of(task)
    parent_id = fields.get("parent_id", current.parent_id)
    list_given = "list_id" in fields
    if parent_id is not None:
        if task is not None and parent_id == task.id:
            raise invalid("parent_id", "A task cannot be its own parent.")
        if parent_id == current.parent_id:
            place = current
        else:
            place = _parent_in_its_list(user_id, parent_id, current)
            if task is not None and has_subtasks(task.user_id, task.id):
                raise invalid(
                    "parent_id", "This task has subtasks: it cannot become one."
                )
        if list_given and fields["list_id"] != place.list_id:
            raise invalid("list_id", "A subtask is always in its parent's list.")
        return place
    list_id = fields["list_id"] if list_given else current.list_id
    if list_id is None:
        # the inbox: the user's own ("moving a task to one's inbox makes it
        # one's own"), or, unchanged, its owner's
        owner = current.user_id if current.list_id is None else user_id
        return Place(None, None, owner)
    if list_id != current.list_id:
        return Place(list_id, None, _referenced_list(user_id, list_id))
    return Place(list_id, None, current.user_id)


def places_anything(fields: dict) -> bool:
    """Does a create name a list or a parent (and so need a transaction)?"""
    return fields.get("list_id") is not None or fields.get("parent_id") is not None


_SUBTASKS_FOLLOW = update(Task.__table__).where(
    *owned(USER_ID, TASKS),
    TASKS.parent_id == TASK_ID,
    TASKS.list_id.is_distinct_from(LIST_ID),
)


def move_subtasks(old_owner: str, parent, now) -> None:
    """A subtask is always in its parent's list, and has its owner: they move
    with it (`old_owner`: the owner of the place it left)."""
    Session.execute(
        _SUBTASKS_FOLLOW.values(
            list_id=LIST_ID,
            user_id=parent.user_id,
            updated_at=now,
            changed_by=parent.changed_by,
            version=TASKS.version + 1,
        ),
        {"owner_id": old_owner, "task_uuid": parent.id, "list_uuid": parent.list_id},
    )


ASSIGNEE_NOT_SEEING = (
    "The assignee must see the task's list (in an inbox: only its user may be)."
)


def check_assignee(assignee_id: str | None, place: Place) -> None:
    """The assignee sees the place (422 on `assignee_id` otherwise), and keeps
    seeing it until the write commits: the membership is share-locked, so a
    removal, which unassigns, waits for it."""
    if assignee_id is None or assignee_id == place.user_id:
        return
    if (
        place.list_id is None
        or role_in(assignee_id, place.user_id, place.list_id, writing=True) is None
    ):
        raise invalid("assignee_id", ASSIGNEE_NOT_SEEING)
