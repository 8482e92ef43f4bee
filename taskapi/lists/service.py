"""Reading and writing a user's lists, scoped by core/scope.py's `owned()`."""

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict, NotFound

from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, lock_for_transaction
from ..core.etags import IfMatch
from ..core.scope import owned, uuid_or_404
from ..tasks.models import TASKS, Task
from .models import LIST_NOT_FOUND, TaskList

MAX_LISTS = 200


def list_uuid(list_id: str) -> uuid.UUID:
    return uuid_or_404(list_id, LIST_NOT_FOUND)


def name_key(name: str) -> str:
    """What makes two names the same name: letter case ignored (casefold, so
    "STRASSE" and "straße" are one name too)."""
    return name.casefold()


def get_lists(user_id: str) -> list[TaskList]:
    return Session.scalars(
        select(TaskList)
        .where(*owned(user_id, TaskList))
        .order_by(TaskList.created_at, TaskList.id)
    ).all()


def get_list(user_id: str, list_id: str) -> TaskList:
    found = Session.scalars(
        select(TaskList).where(
            *owned(user_id, TaskList), TaskList.id == list_uuid(list_id)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(LIST_NOT_FOUND)
    return found


def _duplicate_name():
    return Conflict("You already have a list with this name (letter case ignored).")


def _name_taken(user_id: str, key: str, other_than=None) -> bool:
    same = select(TaskList.id).where(
        *owned(user_id, TaskList), TaskList.name_key == key
    )
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
        select(func.count()).select_from(TaskList).where(*owned(user_id, TaskList))
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
        .where(*owned(user_id, TaskList), TaskList.id == list_uuid(list_id))
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
