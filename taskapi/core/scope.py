"""Who sees what and who may write it, in one place: the WHERE clause of every
statement on a user's rows, whatever the table (tasks, lists, reminders,
webhooks, tokens, idempotency keys, the change feed), and the role a user holds
in a list.

A user sees their own lists and the lists they are a member of (memberships.py);
a task when it is in a list they see, or in their own inbox. A task's `user_id`
is always the owner of its place (the list's owner, or the inbox's user), so the
tasks of a user's own places are `user_id = them`, and the others are the tasks
of the lists they are a member of.

A row that is soft-deleted or that the user does not see is, to every query, one
that does not exist: as a path, 404; referenced from a body (`list_id`,
`parent_id`...), 422 on that field with the same words. A row the user sees but
may not change (a viewer's) is 403.
"""

import uuid

from sqlalchemy import String, bindparam, case, or_, select
from werkzeug.exceptions import Forbidden, NotFound

from .db import Session
from .memberships import MEMBERS, OWNER, VIEWER

# The user of the hot statements built once (module level): bound per call.
USER_ID = bindparam("owner_id", type_=String)

VIEWER_CANNOT_WRITE = (
    "You are a viewer of this list: only its owner and editors change it."
)
OWNER_ONLY = "Only the list's owner may do this."


def owned(user_id: str, rows):
    """Live rows of the user's own places: lists they own, tasks in their inbox
    or their lists (the rows whose user_id is theirs). Not the lists they are a
    member of: for what the user sees, seen_tasks() and seen_lists().

    `rows` is a mapped class (Task), or the columns of a table or of a subquery
    of it (`TASKS`) for statements that load rows, not objects."""
    return rows.user_id == user_id, rows.deleted_at.is_(None)


def of_user(user_id: str, rows):
    """The WHERE clause of every statement on this user's own rows, deleted ones
    included: tables without soft delete (reminders, webhooks, tokens,
    idempotency keys)."""
    return (rows.user_id == user_id,)


def present(*, list_id=None, user_id=None):
    """The WHERE clause of present memberships: of a list, of a user, or the one
    of that user in that list. Whoever left keeps the row (the change feed reports
    the loss from it) and is, to everything else, not a member."""
    where = [MEMBERS.left_at.is_(None)]
    if list_id is not None:
        where.append(MEMBERS.list_id == list_id)
    if user_id is not None:
        where.append(MEMBERS.user_id == user_id)
    return tuple(where)


def member_lists(user_id: str):
    """The ids of the lists the user is a member of (not those they own)."""
    return select(MEMBERS.list_id).where(*present(user_id=user_id))


def seen_tasks(user_id: str, rows, *, deleted: bool = False):
    """Tasks the user sees: in their own places or in a list they are a member
    of; live ones unless `deleted` (the change feed's tombstones)."""
    seen = or_(rows.user_id == user_id, rows.list_id.in_(member_lists(user_id)))
    return (seen,) if deleted else (seen, rows.deleted_at.is_(None))


def seen_lists(user_id: str, rows, *, deleted: bool = False):
    """Lists the user sees: their own and those they are a member of."""
    seen = or_(rows.user_id == user_id, rows.id.in_(member_lists(user_id)))
    return (seen,) if deleted else (seen, rows.deleted_at.is_(None))


def in_list(rows, list_id, owner_id):
    """The tasks of a list, live or not: its tasks carry its owner's user_id
    (the place's owner), so the owner's (user_id, ...) indexes serve them."""
    return rows.list_id == list_id, rows.user_id == owner_id


def role_column(user_id: str, owner_column, list_column):
    """The user's role in a list as a column: `owner`, `editor`, `viewer`, or
    NULL for a list they do not see."""
    member_role = (
        select(MEMBERS.role)
        .where(*present(list_id=list_column, user_id=user_id))
        .scalar_subquery()
    )
    return case((owner_column == user_id, OWNER), else_=member_role)


def role_in(user_id: str, owner_id: str, list_id, *, writing: bool = False):
    """The user's role in the place owned by `owner_id` (a list, or with
    `list_id` None an inbox): `owner`, `editor`, `viewer` or None.

    `writing`: the membership row is share-locked until the transaction ends,
    so a removal waits for this write, or this write sees the removal (and
    finds nothing): never a write after the removal committed."""
    if owner_id == user_id:
        return OWNER
    if list_id is None:
        return None
    statement = select(MEMBERS.role).where(*present(list_id=list_id, user_id=user_id))
    if writing:
        statement = statement.with_for_update(read=True)
    return Session.execute(statement).scalar()


def require_writer(user_id: str, owner_id: str, list_id, not_found) -> str:
    """The user's role, if it may change the place's tasks (owner, editor);
    403 for a viewer; if the user does not see it, `not_found` (an exception,
    or a detail for a 404). Call it inside the write's transaction."""
    role = role_in(user_id, owner_id, list_id, writing=True)
    if role is None:
        raise NotFound(not_found) if isinstance(not_found, str) else not_found
    if role == VIEWER:
        raise Forbidden(VIEWER_CANNOT_WRITE)
    return role


def uuid_or_404(value: str, not_found: str) -> uuid.UUID:
    """An id from a path as a UUID; one that is not a UUID names nothing: 404
    with the `not_found` detail, the same as an id that was never used."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(not_found) from None
