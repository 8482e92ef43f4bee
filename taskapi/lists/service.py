"""Reading and writing lists. A user reads the lists they see (their own and
those they are a member of), each with their role in it and its member count;
only the owner renames or deletes one. Every WHERE clause is core/scope.py's."""

import uuid

from sqlalchemy import column, delete, func, select, table, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict, Forbidden, NotFound

from ..core.columns import utcnow
from ..core.db import (
    Session,
    begin_transaction,
    lock_for_transaction,
    refuse_past_limit,
)
from ..core.etags import IfMatch
from ..core.memberships import OWNER
from ..core.scope import (
    OWNER_ONLY,
    owned,
    present,
    role_column,
    seen_lists,
    uuid_or_404,
)
from ..tasks.models import TASKS, Task
from .models import LIST_NOT_FOUND, TaskList

MAX_LISTS = 200

# The invitations of a deleted list go with it. sharing/ owns the table and
# imports lists/, so it is named here as reminders/due.py names webhook tables.
_INVITATIONS = table("list_invitations", column("list_id"))


class SeenList:
    """A list as one user sees it: the row, the user's role in it, and its
    member count (the owner included). Its `version`, which the ETag hashes,
    holds both, so a member joining or leaving, or a role changing, changes
    the tag without writing the list's row."""

    def __init__(self, row: TaskList, role: str, member_count: int):
        self.row, self.role, self.member_count = row, role, member_count

    def __getattr__(self, name):
        return getattr(self.row, name)

    @property
    def owner_id(self) -> str:
        return self.row.user_id

    @property
    def version(self) -> str:
        return f"{self.row.version}.{self.member_count}.{self.role}"


def list_uuid(list_id) -> uuid.UUID:
    return uuid_or_404(str(list_id), LIST_NOT_FOUND)


def sharing_lock(list_id: uuid.UUID) -> None:
    """Held by every change of a list's members and invitations, and by its
    deletion, so their counts and limits are exact under concurrency. Task
    writers never take it: it cannot deadlock with their row locks."""
    lock_for_transaction(f"sharing:{list_id}")


def member_count(list_column):
    """Members of the list as a column, the owner included."""
    members = (
        select(func.count()).where(*present(list_id=list_column)).scalar_subquery()
    )
    return members + 1


def _seen(user_id: str):
    return select(
        TaskList,
        role_column(user_id, TaskList.user_id, TaskList.id),
        member_count(TaskList.id),
    ).where(*seen_lists(user_id, TaskList))


def get_lists(user_id: str) -> list[SeenList]:
    """Every list the user sees, in creation order."""
    rows = Session.execute(
        _seen(user_id).order_by(TaskList.created_at, TaskList.id)
    ).all()
    return [SeenList(*row) for row in rows]


def get_list(user_id: str, list_id, *, owner_only: bool = False) -> SeenList:
    """The list if the user sees it, else 404; `owner_only`: 403 unless it is
    theirs."""
    row = Session.execute(
        _seen(user_id).where(TaskList.id == list_uuid(list_id))
    ).one_or_none()
    if row is None:
        raise NotFound(LIST_NOT_FOUND)
    found = SeenList(*row)
    if owner_only and found.role != OWNER:
        raise Forbidden(OWNER_ONLY)
    return found


def owners_list(owner_id: str, list_id: uuid.UUID) -> TaskList | None:
    """The owner's live list, read whoever asks (an invitation's code names
    it before its reader sees it)."""
    return Session.scalars(
        select(TaskList).where(*owned(owner_id, TaskList), TaskList.id == list_id)
    ).one_or_none()


def _duplicate_name():
    return Conflict("You already have a list with this name (letter case ignored).")


def name_key(name: str) -> str:
    """What makes two names the same name: letter case ignored (casefold, so
    "STRASSE" and "straße" are one name too)."""
    return name.casefold()


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


def refuse_more_lists(user_id: str, adding: int, remedy: str) -> None:
    """Hold the user's lists lock until the transaction ends, then 409 if
    `adding` more lists would take the lists they own past MAX_LISTS."""
    refuse_past_limit(
        f"lists:{user_id}",
        select(func.count()).select_from(TaskList).where(*owned(user_id, TaskList)),
        MAX_LISTS + 1 - adding,
        f"At most {MAX_LISTS} lists per user: {remedy}",
    )


def create_list(user_id: str, fields: dict) -> SeenList:
    """One transaction that holds the user's lists lock, so that two creates
    cannot both pass the count of 200 (the lists they own)."""
    begin_transaction()
    refuse_more_lists(user_id, 1, "delete one first.")
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
    return SeenList(created, OWNER, 1)


def _locked_list(user_id: str, list_id: str, if_match: IfMatch | None) -> SeenList:
    """The owner's list, locked until the transaction ends: FOR NO KEY UPDATE,
    which waits for the creates holding it FOR SHARE but not for the
    foreign-key checks of their INSERTs (FOR UPDATE would, and deadlock with
    them). A member: 403 (nothing locked); who does not see it: 404."""
    Session.rollback()
    begin_transaction()
    seen = get_list(user_id, list_id, owner_only=True)
    found = Session.scalars(
        select(TaskList)
        .where(*owned(user_id, TaskList), TaskList.id == seen.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if found is None:  # deleted since the read
        raise NotFound(LIST_NOT_FOUND)
    answer = SeenList(found, OWNER, seen.member_count)
    if if_match is not None:
        if_match.check(answer)
    return answer


def update_list(
    user_id: str, list_id: str, fields: dict, if_match: IfMatch | None = None
) -> SeenList:
    """Rename (the only field); the same name is no change."""
    found = _locked_list(user_id, list_id, if_match)
    if "name" not in fields or fields["name"] == found.name:
        Session.commit()
        return found
    key = name_key(fields["name"])
    if _name_taken(user_id, key, other_than=found.id):
        raise _duplicate_name()
    row = found.row
    row.name, row.name_key = fields["name"], key
    row.updated_at = utcnow()
    row.version += 1
    _committed_or_conflict()
    return found


def delete_list(user_id: str, list_id: str, if_match: IfMatch | None = None) -> None:
    """Soft-delete the list and every task in it, for everyone who sees it
    (subtasks included: they are in their parent's list). The list's row is
    locked first: a create into it holds it FOR SHARE, so the tasks' UPDATE, a
    statement of its own, sees every task added before. Memberships stay (the
    members' change feeds report the list and its tasks gone); invitations go."""
    found = _locked_list(user_id, list_id, if_match)
    sharing_lock(found.id)
    now = utcnow()
    found.row.deleted_at = now
    found.row.version += 1
    Session.flush()
    Session.execute(
        update(Task.__table__)
        .where(*owned(found.owner_id, TASKS), TASKS.list_id == found.id)
        .values(deleted_at=now, changed_by=user_id)
    )
    Session.execute(delete(_INVITATIONS).where(_INVITATIONS.c.list_id == found.id))
    Session.commit()


def unassign(found: SeenList, member_id: str, actor: str) -> None:
    """A member who leaves or is removed is no longer assigned to the list's
    tasks: each such task changes (version, updated_at), by `actor`. Its rows
    stay locked until the transaction ends."""
    Session.execute(
        update(Task.__table__)
        .where(
            *owned(found.owner_id, TASKS),
            TASKS.list_id == found.id,
            TASKS.assignee_id == member_id,
        )
        .values(
            assignee_id=None,
            version=TASKS.version + 1,
            updated_at=utcnow(),
            changed_by=actor,
        )
    )
