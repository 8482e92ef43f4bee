"""The change feed: every task and list created, changed or deleted since a cursor.

Each row carries `change_xid`, set by the database on every write (migration 0008):
on PostgreSQL the writing transaction's id, on SQLite a counter its one writer at a
time bumps. A cursor holds the *snapshot* of the read that handed it out (on SQLite,
the counter's value then). A poll returns the rows whose change was not visible in
that snapshot, so a transaction that took its id before another but committed after
it was read is still returned: nothing is skipped, some rows may come twice.

Pages of one poll are ordered by (change_xid, id), tasks first, then lists. The
cursor a poll's last page hands out holds the snapshot of its *first* page: what
changed while the client was paging comes in the next poll.
"""

import base64
import hmac
import json
import uuid
from typing import NamedTuple

from flask import current_app
from sqlalchemy import (
    BigInteger,
    Text,
    cast,
    exists,
    func,
    literal,
    not_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.types import UserDefinedType
from werkzeug.exceptions import Gone

from ..core.db import Session, dialect_name
from ..core.errors import invalid
from ..core.scope import of_user
from ..lists.models import LISTS, TaskList
from ..tasks.models import TASKS, Task, task_columns
from .models import ChangeCounter, SyncState

CURSOR_NOT_OURS = "Not a cursor this API handed out: sync again without one."
CURSOR_PURGED = (
    "This cursor is older than what has been removed for good since: sync again "
    "from scratch (without a cursor)."
)


class _PgType(UserDefinedType):
    cache_ok = True

    def __init__(self, name: str):
        self.name = name

    def get_col_spec(self, **kw):
        return self.name


XID8, PG_SNAPSHOT = _PgType("xid8"), _PgType("pg_snapshot")


class Cursor(NamedTuple):
    since: str | None  # the snapshot changes are relative to; None: first sync
    start: str | None  # the snapshot of this poll's first page, once it is read
    phase: int  # 0: tasks, 1: lists
    after: tuple[int, str] | None  # the (change_xid, id) the last page ended at


FIRST = Cursor(None, None, 0, None)


# Cursors: opaque, signed, one user's ----------------------------------------------


def _mac(user_id: str, payload: bytes) -> bytes:
    key = current_app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(key, b"changes\0" + user_id.encode() + b"\0" + payload, "sha256")


def encode(user_id: str, cursor: Cursor) -> str:
    payload = json.dumps(list(cursor), separators=(",", ":")).encode()
    mac = _mac(user_id, payload).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode(user_id: str, text: str) -> Cursor:
    """The cursor, if this API signed it for this user; else 422 on `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        mac, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, _mac(user_id, payload).digest()[:16]):
            raise ValueError
        since, start, phase, after = json.loads(payload)
        return Cursor(since, start, phase, None if after is None else tuple(after))
    except (ValueError, TypeError):
        raise invalid("cursor", CURSOR_NOT_OURS, location="query") from None


# Snapshots, per dialect ---------------------------------------------------------


def _current_snapshot():
    if dialect_name() == "postgresql":
        return cast(func.pg_current_snapshot(), Text)
    return cast(select(ChangeCounter.value).scalar_subquery(), Text)


def _low_mark(snapshot: str) -> int:
    """The smallest change number a snapshot may not have seen."""
    if dialect_name() == "postgresql":
        return int(snapshot.split(":", 1)[0])  # xmin:xmax:xip,...
    return int(snapshot) + 1


def _changed_since(columns, snapshot: str) -> list:
    """Rows written by a transaction the snapshot did not see (committed after it)."""
    low = [columns.change_xid >= _low_mark(snapshot)]
    if dialect_name() != "postgresql":
        return low
    visible = func.pg_visible_in_snapshot(
        cast(cast(columns.change_xid, Text), XID8),
        cast(literal(snapshot, Text), PG_SNAPSHOT),
    )
    return [*low, not_(visible)]


_PURGED_THROUGH = select(SyncState.purged_through).scalar_subquery()


def _check_not_purged(snapshot: str | None, purged: int | None = None) -> None:
    """410 if purge-deleted has removed a change the snapshot had not seen."""
    if snapshot is None:
        return
    if purged is None:
        purged = Session.execute(select(_PURGED_THROUGH)).scalar()
    if (purged or 0) >= _low_mark(snapshot):
        raise Gone(CURSOR_PURGED)


# A page -------------------------------------------------------------------------


class Page(NamedTuple):
    tasks: list
    deleted_tasks: list
    lists: list
    deleted_lists: list
    cursor: str
    has_more: bool


def _conditions(user_id: str, columns, cursor: Cursor, phase: int) -> list:
    """This user's rows of one table that the page may hold (both deleted and live:
    soft-deleted rows are the tombstones)."""
    conditions = [*of_user(user_id, columns)]
    if cursor.since is None:
        conditions.append(columns.deleted_at.is_(None))  # a first sync: what is live
    else:
        conditions.extend(_changed_since(columns, cursor.since))
    if cursor.after is not None and cursor.phase == phase:
        xid, row_id = cursor.after
        position = tuple_(columns.change_xid, columns.id)
        conditions.append(
            position > tuple_(literal(xid, BigInteger), uuid.UUID(row_id))
        )
    return conditions


def _rows(statement_columns, table_columns, conditions, limit):
    return (
        select(*statement_columns)
        .where(*conditions)
        .order_by(table_columns.change_xid, table_columns.id)
        .limit(limit)
    )


def read_page(user_id: str, cursor: Cursor, limit: int) -> Page:
    """One page: one statement when it holds only tasks or nothing (the snapshot,
    the purge mark, the tasks, and whether any list changed), a second for lists."""
    tasks, lists = [], []
    start = cursor.start
    if cursor.phase == 0:
        task_page = _rows(
            task_columns(), TASKS, _conditions(user_id, TASKS, cursor, 0), limit + 1
        ).subquery()
        any_list = exists().where(*_conditions(user_id, LISTS, cursor, 1))
        header = select(
            _current_snapshot().label("snapshot"),
            any_list.label("any_list"),
            _PURGED_THROUGH.label("purged_through"),
        ).subquery()
        rows = Session.execute(
            select(header, task_page)
            .select_from(header.outerjoin(task_page, true()))
            .order_by(task_page.c.change_xid, task_page.c.id)
        ).all()
        _check_not_purged(cursor.since, rows[0].purged_through)
        start = start or rows[0].snapshot
        tasks = [row for row in rows if row.id is not None]
        if len(tasks) > limit:
            return _page(user_id, cursor, start, tasks[:limit], [], 0)
        if not rows[0].any_list:
            return _page(user_id, cursor, start, tasks, [], None)
    else:
        _check_not_purged(cursor.since)
    room = limit - len(tasks)
    lists = Session.execute(
        _rows(
            [LISTS.id, LISTS.name, LISTS.created_at, LISTS.updated_at, LISTS.deleted_at,
             LISTS.version, LISTS.change_xid],
            LISTS,
            _conditions(user_id, LISTS, cursor, 1),
            room + 1,
        )
    ).all()  # fmt: skip
    if start is None:  # a page that began among the lists of a first sync
        start = Session.execute(select(_current_snapshot())).scalar()
    if len(lists) > room:
        return _page(user_id, cursor, start, tasks, lists[:room], 1)
    return _page(user_id, cursor, start, tasks, lists, None)


def _page(user_id, cursor: Cursor, start, tasks, lists, more_in: int | None) -> Page:
    """The page, and the cursor after it: within this poll while there is more,
    else relative to the snapshot of the poll's first page."""
    if more_in is None:
        following = Cursor(start, None, 0, None)
    else:
        last = (tasks if more_in == 0 else lists)[-1]
        following = Cursor(
            cursor.since, start, more_in, (last.change_xid, str(last.id))
        )
    return Page(
        tasks=[t for t in tasks if t.deleted_at is None],
        deleted_tasks=[str(t.id) for t in tasks if t.deleted_at is not None],
        lists=[li for li in lists if li.deleted_at is None],
        deleted_lists=[str(li.id) for li in lists if li.deleted_at is not None],
        cursor=encode(user_id, following),
        has_more=more_in is not None,
    )


def record_purge(task_ids, list_ids) -> None:
    """Before purge-deleted removes rows for good: remember their highest change
    number, so that a cursor which has not seen them answers 410."""
    highest = max(
        Session.execute(select(func.max(Task.change_xid)).where(Task.id.in_(task_ids)))
        .scalar() or 0,
        Session.execute(
            select(func.max(TaskList.change_xid)).where(TaskList.id.in_(list_ids))
        ).scalar() or 0,
    )  # fmt: skip
    Session.execute(
        update(SyncState)
        .where(SyncState.id == 1, SyncState.purged_through < highest)
        .values(purged_through=highest)
    )
