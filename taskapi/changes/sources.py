"""What one user's poll reads: the tasks and lists they see that changed since a
snapshot, by every way they see them (decision 0024).

A task is seen in its owner's places (`user_id`), or through a membership of its
list; a membership row is numbered like tasks (`change_xid`), so a poll tells a
list gained or lost since its snapshot from one it kept. Each row of a poll has
an *effective change number* (eff) and pages go by (eff, id):

- tasks of the user's own places, changed (eff: the task's number);
- tasks of lists whose membership did not change, changed (the task's);
- every live task of a list whose membership changed, and its changed
  tombstones: all of them live (gained, or a new role) or all deleted (lost)
  (eff: the membership's number);
- tasks that left a list the user owns or is (or was, until this poll) a member
  of, which the user does not see now: deleted (eff: the departure's number).

Lists likewise, where a membership change of anyone in the list counts as a
change of the list (its `member_count`, the caller's `role`). A list's tasks are
those with its `list_id` and its owner's `user_id` (the invariant of
core/scope.py), which lets every source use the tasks' (user_id, change_xid) index.
"""

import uuid
from functools import cache

from sqlalchemy import (
    BigInteger,
    Integer,
    Uuid,
    and_,
    bindparam,
    false,
    func,
    not_,
    or_,
    select,
    true,
    tuple_,
    union_all,
)

from ..core.db import dialect_name
from ..core.memberships import MEMBERS, Membership
from ..core.prepared import prepared
from ..core.scope import (
    USER_ID,
    in_list,
    of_user,
    owned,
    present,
    role_column,
    seen_tasks,
)
from ..lists.models import LISTS, TaskList
from ..lists.service import member_count
from ..tasks.models import TASKS, Task, task_columns
from .models import SyncState, TaskDeparture
from .snapshots import (
    LOW_MARK,
    SNAPSHOT,
    changed_since,
    current_snapshot,
    low_mark,
)

TASK_TABLE, LIST_TABLE = Task.__table__, TaskList.__table__
MEMBER_TABLE, DEPARTURES = Membership.__table__, TaskDeparture.__table__.c
OTHERS = MEMBER_TABLE.alias("others")  # anyone's membership of a list
NOW = TASK_TABLE.alias("now")  # a departed task as it is now


# The statements are built once per shape (first sync or not, first page of a
# phase or not) and dialect, and bound per poll: building and compiling the
# union of sources would cost more than running it (parameters()).
AFTER_XID = bindparam("feed_after_xid", type_=BigInteger)
AFTER_ID = bindparam("feed_after_id", type_=Uuid)
LIMIT = bindparam("feed_limit", type_=Integer)


def parameters(user_id: str, since: str | None, after, limit: int) -> dict:
    """The values of a statement's parameters for one poll's page."""
    values = {USER_ID.key: user_id, LIMIT.key: limit}
    if since is not None:
        values |= {SNAPSHOT.key: since, LOW_MARK.key: low_mark(since)}
    if after is not None:
        values |= {AFTER_XID.key: after[0], AFTER_ID.key: uuid.UUID(after[1])}
    return values


def _greatest(a, b):
    return func.greatest(a, b) if dialect_name() == "postgresql" else func.max(a, b)


# Keys: (eff, id, gone) of each row a page may hold ------------------------------


def _keyed(eff, key, gone, joined, conditions, after):
    """One source, in (eff, id) order (after the page's last if `after`), at
    most the page's rows."""
    if after:
        conditions = [*conditions, tuple_(eff, key) > tuple_(AFTER_XID, AFTER_ID)]
    source = (
        select(eff.label("eff"), key.label("id"), gone.label("gone"))
        .select_from(joined)
        .where(*conditions)
        .order_by(eff, key)
        .limit(LIMIT)
        .subquery()
    )
    return select(source.c.eff, source.c.id, source.c.gone)


def _mine(*, active=True):
    """The user's membership rows; active ones unless `active` is False."""
    return present(user_id=USER_ID) if active else of_user(USER_ID, MEMBERS)


def _member_tasks():
    """The user's memberships, their lists and those lists' tasks."""
    return MEMBER_TABLE.join(LIST_TABLE, LISTS.id == MEMBERS.list_id).join(
        TASK_TABLE, and_(*in_list(TASKS, LISTS.id, LISTS.user_id))
    )


def _task_sources(first: bool, after: bool) -> list:
    live, deleted = TASKS.deleted_at.is_(None), TASKS.deleted_at.is_not(None)
    changed = live if first else changed_since(TASKS.change_xid)
    sources = [
        _keyed(TASKS.change_xid, TASKS.id, deleted, TASK_TABLE,
               [*of_user(USER_ID, TASKS), changed], after),
    ]  # fmt: skip
    kept = _mine()
    if first:  # every live task of the user's lists
        return [
            *sources,
            _keyed(TASKS.change_xid, TASKS.id, deleted, _member_tasks(),
                   [*kept, changed], after),
        ]  # fmt: skip
    membership_changed = changed_since(MEMBERS.change_xid)
    lost = or_(deleted, MEMBERS.left_at.is_not(None))
    renewed = [*_mine(active=False), membership_changed]
    return [
        *sources,
        _keyed(TASKS.change_xid, TASKS.id, deleted, _member_tasks(),
               [*kept, not_(membership_changed), changed], after),
        # gained (or a new role) or lost: the list's live tasks, and tombstones
        # the client may hold (two sources: each has its index)
        _keyed(MEMBERS.change_xid, TASKS.id, lost, _member_tasks(),
               [*renewed, live], after),
        _keyed(MEMBERS.change_xid, TASKS.id, lost, _member_tasks(),
               [*renewed, deleted, changed], after),
        _keyed(DEPARTURES.change_xid, DEPARTURES.task_id, true(),
               DEPARTURES.task_id.table, _departed(), after),
    ]  # fmt: skip


def _departed() -> list:
    """Departures since the snapshot from the lists the user owns (those ever
    shared: only a member moves a task out of the owner's sight) or is a member
    of (or was, until a change since the snapshot), of tasks they do not see."""
    shared = select(OTHERS.c.list_id).where(OTHERS.c.list_id == LISTS.id).exists()
    watched = union_all(
        select(LISTS.id).where(*of_user(USER_ID, LISTS), shared),
        select(MEMBERS.list_id).where(
            *_mine(active=False),
            or_(MEMBERS.left_at.is_(None), changed_since(MEMBERS.change_xid)),
        ),
    )
    now = NOW.c
    seen = (
        select(now.id)
        .where(now.id == DEPARTURES.task_id, *seen_tasks(USER_ID, now, deleted=True))
        .exists()
    )
    return [
        DEPARTURES.list_id.in_(watched),
        changed_since(DEPARTURES.change_xid),
        not_(seen),
    ]


_PURGED_THROUGH = select(SyncState.purged_through).scalar_subquery()


@cache
def task_statement(dialect: str, first: bool, after: bool):
    """A page's tasks (task_columns(), `eff`, `gone`) in (eff, id) order, each
    row with the snapshot the statement read, the purge mark, and whether any
    list is to come (`any_list`); one row of NULL tasks when there are none."""
    keys = union_all(*_task_sources(first, after)).subquery("keys")
    columns = [keys.c.id if column.key == "id" else column for column in task_columns()]
    page = (
        select(keys.c.eff, keys.c.gone, *columns)
        .select_from(keys.outerjoin(TASK_TABLE, TASKS.id == keys.c.id))
        .order_by(keys.c.eff, keys.c.id)
        .limit(LIMIT)
        .subquery()
    )
    any_list = or_(*(source.exists() for source in _list_sources(first)))
    header = select(
        current_snapshot().label("snapshot"),
        any_list.label("any_list"),
        _PURGED_THROUGH.label("purged_through"),
    ).subquery()
    return prepared(
        select(header, page)
        .select_from(header.outerjoin(page, true()))
        .order_by(page.c.eff, page.c.id)
    )


# Lists -------------------------------------------------------------------------


def _members_changed():
    return (
        select(OTHERS.c.list_id)
        .where(OTHERS.c.list_id == LISTS.id, changed_since(OTHERS.c.change_xid))
        .exists()
    )


def _list_sources(first: bool) -> list:
    """(id, gone) of the lists a page may hold: each list once."""
    member_lists = MEMBER_TABLE.join(LIST_TABLE, LISTS.id == MEMBERS.list_id)
    if first:
        return [
            select(LISTS.id, false().label("gone")).where(*owned(USER_ID, LISTS)),
            select(LISTS.id, false().label("gone"))
            .select_from(member_lists)
            .where(*_mine(), LISTS.deleted_at.is_(None)),
        ]
    changed = changed_since(LISTS.change_xid)
    gone = or_(LISTS.deleted_at.is_not(None), MEMBERS.left_at.is_not(None))
    return [
        select(LISTS.id, LISTS.deleted_at.is_not(None).label("gone")).where(
            *of_user(USER_ID, LISTS), changed
        ),
        # someone joined, left or changed role: its member_count
        select(LISTS.id, false().label("gone")).where(
            *owned(USER_ID, LISTS), not_(changed), _members_changed()
        ),
        select(LISTS.id, gone.label("gone"))
        .select_from(member_lists)
        .where(
            *_mine(active=False),
            or_(MEMBERS.left_at.is_(None), changed_since(MEMBERS.change_xid)),
            or_(changed, _members_changed()),
        ),
    ]


@cache
def list_statement(dialect: str, first: bool, after: bool):
    """A page's lists as rows (the list's answer, `eff`, `gone`), in (eff, id)
    order; eff: the list's or its latest membership's number."""
    keys = union_all(*_list_sources(first)).subquery("keys")
    latest_member = (
        select(func.max(OTHERS.c.change_xid))
        .where(OTHERS.c.list_id == LISTS.id)
        .scalar_subquery()
    )
    eff = _greatest(LISTS.change_xid, func.coalesce(latest_member, 0))
    statement = select(
        eff.label("eff"), keys.c.gone, LISTS.id, LISTS.name, LISTS.created_at,
        LISTS.updated_at, LISTS.user_id.label("owner_id"),
        role_column(USER_ID, LISTS.user_id, LISTS.id).label("role"),
        member_count(LISTS.id).label("member_count"),
    ).select_from(keys.join(LIST_TABLE, LISTS.id == keys.c.id))  # fmt: skip
    if after:
        statement = statement.where(tuple_(eff, LISTS.id) > tuple_(AFTER_XID, AFTER_ID))
    return prepared(statement.order_by(eff, LISTS.id).limit(LIMIT))
