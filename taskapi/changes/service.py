"""The change feed: every task and list created, changed or deleted since a cursor.

Each row carries `change_xid`, set by the database on every write (migration 0008):
on PostgreSQL the writing transaction's id, on SQLite a counter its one writer at a
time bumps. A cursor holds the *snapshot* of the read that handed it out (on SQLite,
the counter's value then). A poll returns the rows whose change was not visible in
that snapshot, so a transaction that took its id before another but committed after
it was read is still returned: nothing is skipped, some rows may come twice.

What a user sees also changes with their memberships: sources.py reads every way
they see a task or list, each row with an effective change number (eff). Pages of
one poll are ordered by (eff, id), tasks first, then lists. The cursor a poll's
last page hands out holds the snapshot of its *first* page: what changed while
the client was paging comes in the next poll.
"""

import base64
import hmac
import json
from typing import NamedTuple

from flask import current_app
from sqlalchemy import and_, delete, exists, func, not_, or_, select, update
from werkzeug.exceptions import Gone

from ..core.db import Session, begin_transaction, dialect_name
from ..core.errors import invalid
from ..core.memberships import MEMBERS, Membership
from ..core.timeouts import lift_statement_timeout
from ..lists.models import TaskList
from ..tasks.models import TASKS, Task
from . import snapshots, sources
from .models import SyncState, TaskDeparture

CURSOR_NOT_OURS = "Not a cursor this API handed out: sync again without one."
CURSOR_PURGED = (
    "This cursor is older than what has been removed for good since: sync again "
    "from scratch (without a cursor)."
)


class Cursor(NamedTuple):
    since: str | None  # the snapshot changes are relative to; None: first sync
    start: str | None  # the snapshot of this poll's first page, once it is read
    phase: int  # 0: tasks, 1: lists
    after: tuple[int, str] | None  # the (eff, id) the last page ended at


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


_PURGED_THROUGH = select(SyncState.purged_through)


def _check_not_purged(snapshot: str | None, purged: int | None = None) -> None:
    """410 if purge-deleted has removed a change the snapshot had not seen."""
    if snapshot is None:
        return
    if purged is None:
        purged = Session.execute(_PURGED_THROUGH).scalar()
    if (purged or 0) >= snapshots.low_mark(snapshot):
        raise Gone(CURSOR_PURGED)


# A page -------------------------------------------------------------------------


class Page(NamedTuple):
    tasks: list
    deleted_tasks: list
    lists: list
    deleted_lists: list
    cursor: str
    has_more: bool


def read_page(user_id: str, cursor: Cursor, limit: int) -> Page:
    """One page: one statement when it holds only tasks or nothing (the snapshot,
    the purge mark, the tasks, and whether any list changed), a second for lists.
    Both prepared: planning the union of sources costs more than running it."""
    tasks, lists = [], []
    start, first, dialect = cursor.start, cursor.since is None, dialect_name()
    if cursor.phase == 0:
        rows = Session.execute(
            sources.task_statement(dialect, first, cursor.after is not None),
            sources.parameters(user_id, cursor.since, cursor.after, limit + 1),
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
    after = cursor.after if cursor.phase == 1 else None
    lists = Session.execute(
        sources.list_statement(dialect, first, after is not None),
        sources.parameters(user_id, cursor.since, after, room + 1),
    ).all()
    if start is None:  # a page that began among the lists of a first sync
        start = Session.execute(select(snapshots.current_snapshot())).scalar()
    if len(lists) > room:
        return _page(user_id, cursor, start, tasks, lists[:room], 1)
    return _page(user_id, cursor, start, tasks, lists, None)


def _unique(ids) -> list:
    return list(dict.fromkeys(ids))


def _page(user_id, cursor: Cursor, start, tasks, lists, more_in: int | None) -> Page:
    """The page, and the cursor after it: within this poll while there is more,
    else relative to the snapshot of the poll's first page. A task that two
    sources report deleted (two departures, say) is listed once."""
    if more_in is None:
        following = Cursor(start, None, 0, None)
    else:  # a page full of tasks with lists to come: the lists from their start
        last = (tasks if more_in == 0 else lists or [None])[-1]
        after = None if last is None else (last.eff, str(last.id))
        following = Cursor(cursor.since, start, more_in, after)
    return Page(
        tasks=[t for t in tasks if not t.gone],
        deleted_tasks=_unique(str(t.id) for t in tasks if t.gone),
        lists=[li for li in lists if not li.gone],
        deleted_lists=_unique(str(li.id) for li in lists if li.gone),
        cursor=encode(user_id, following),
        has_more=more_in is not None,
    )


def _highest(*change_numbers) -> int:
    """The highest of the change numbers that each select gives (0: none)."""
    return max(
        Session.execute(select(func.max(numbers.c[0]))).scalar() or 0
        for numbers in (select_.subquery() for select_ in change_numbers)
    )


def _raise_purge_mark(highest: int) -> None:
    Session.execute(
        update(SyncState)
        .where(SyncState.id == 1, SyncState.purged_through < highest)
        .values(purged_through=highest)
    )


def record_purge(task_ids, list_ids) -> None:
    """Before purge-deleted removes rows for good: remember their highest change
    number, so that a cursor which has not seen them answers 410."""
    _raise_purge_mark(
        _highest(
            select(Task.change_xid).where(Task.id.in_(task_ids)),
            select(TaskList.change_xid).where(TaskList.id.in_(list_ids)),
        )
    )


def purge_memberships_and_departures(before) -> tuple[int, int]:
    """purge-deleted's part for the feed's own rows, in one transaction:
    memberships that ended before `before` (and those of purged lists, which
    SQLite does not cascade), and departures as old: of a task purged, or last
    changed before it (a move sets `updated_at`). Their change numbers raise the
    purge mark first. (memberships, departures) removed."""
    begin_transaction()
    lift_statement_timeout(Session.connection())
    departure = TaskDeparture.__table__.c
    recent = (
        select(TASKS.id)
        .where(TASKS.id == departure.task_id, TASKS.updated_at >= before)
        .exists()
    )
    old_departures = select(departure.id).where(not_(recent))
    ended = or_(
        and_(MEMBERS.left_at.is_not(None), MEMBERS.left_at < before),
        not_(exists().where(TaskList.id == MEMBERS.list_id)),
    )
    _raise_purge_mark(
        _highest(
            select(MEMBERS.change_xid).where(ended),
            select(departure.change_xid).where(departure.id.in_(old_departures)),
        )
    )
    members = Session.execute(delete(Membership).where(ended)).rowcount
    departures = Session.execute(
        delete(TaskDeparture).where(TaskDeparture.id.in_(old_departures))
    ).rowcount
    Session.commit()
    return members, departures
