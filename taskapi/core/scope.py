"""Who sees what, in one place: the WHERE clause of every statement on a user's
rows, whatever the table (tasks, lists, reminders, webhooks, idempotency keys,
the change feed).

A row that is soft-deleted or belongs to someone else is, to every query, one
that does not exist: as a path, 404; referenced from a body (`list_id`,
`parent_id`), 422 on that field with the same words. Shared lists will change who
may see what here, for every statement at once.
"""

import uuid

from sqlalchemy import String, bindparam
from werkzeug.exceptions import NotFound

# The user of the hot statements built once (module level): bound per call.
USER_ID = bindparam("owner_id", type_=String)


def owned(user_id: str, rows):
    """The WHERE clause of every read or write of live rows (tasks, lists): this
    user's, not soft-deleted.

    `rows` is a mapped class (Task), or the columns of a table or of a subquery
    of it (`TASKS`) for statements that load rows, not objects."""
    return rows.user_id == user_id, rows.deleted_at.is_(None)


def of_user(user_id: str, rows):
    """The WHERE clause of every statement on this user's rows, deleted ones
    included: tables without soft delete (reminders, webhooks, idempotency
    keys), and the change feed, whose tombstones are deleted rows."""
    return (rows.user_id == user_id,)


def uuid_or_404(value: str, not_found: str) -> uuid.UUID:
    """An id from a path as a UUID; one that is not a UUID names nothing: 404
    with the `not_found` detail, the same as an id that was never used."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(not_found) from None
