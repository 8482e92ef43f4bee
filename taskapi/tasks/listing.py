"""The listing: one page of the tasks a user sees, filtered and sorted, and how many
match, in one statement. Scoped by core/scope.py, as every task query is: the tasks
of the user's own places, and (a second branch of a UNION ALL, each read in order
from the user_id-leading indexes) those of the lists they are a member of.
"""

import functools
from typing import NamedTuple

from sqlalchemy import (
    Row,
    String,
    bindparam,
    exists,
    func,
    select,
    true,
    tuple_,
    union_all,
)

from ..core.db import Session, dialect_name
from ..core.errors import invalid
from ..core.fields import QueryReference
from ..core.prepared import prepared
from ..core.scope import (
    member_lists,
    of_user,
    owned,
    seen_lists,
    seen_tasks,
)
from ..lists.models import LIST_NOT_FOUND, LISTS
from .filters import FILTERS, conditions_of
from .lookup import TASK_NOT_FOUND
from .models import TASKS, ListTaskCount, Task, TaskCount, task_columns
from .schemas import AssigneeQuery

# Built on the tables' columns, not the ORM entities: a statement without ORM
# entities skips the ORM's compile and load steps (see models.task_columns).
COUNTS = TaskCount.__table__.c
LIST_COUNTS = ListTaskCount.__table__.c


class TaskPage(NamedTuple):
    tasks: list[Row]  # with Task's attribute names: see models.task_columns
    total: int  # tasks matching the filters, on every page


def _sort_column(key: str, dialect: str):
    if key == "priority":
        return TASKS.priority
    if key == "title":
        # Case-insensitive, then by code point on both databases (PostgreSQL
        # would otherwise use the database's locale collation).
        title = func.lower(TASKS.title)
        return title.collate("C") if dialect == "postgresql" else title
    return TASKS[key]


def _order_by(sort: str, dialect: str, columns=None) -> list:
    """ORDER BY for a `sort` value; ties broken by id in the same direction.

    `columns` maps the sort expressions onto a subquery's columns.
    """
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column, task_id = _sort_column(key, dialect), TASKS.id
    if columns is not None:
        column, task_id = columns["sort_key"], columns["id"]
    direction = (lambda c: c.desc()) if descending else (lambda c: c.asc())
    order = direction(column)
    if key == "due_date":
        order = order.nulls_last()  # tasks without a due date come last
    return [order, direction(task_id)]


def _references(user_id: str, query: dict) -> list:
    """For a `list_id` or `parent_id` filter naming an id: whether that is the
    user's live list or task, a column beside the page (no extra statement)."""
    checks = []
    if query.get("list_id") not in (None, QueryReference.NONE):
        named = LISTS.id == query["list_id"]
        found = exists().where(*seen_lists(user_id, LISTS), named)
        checks.append(found.label("found_list_id"))
    if query.get("parent_id") not in (None, QueryReference.NONE):
        parents = Task.__table__.alias("parents")
        found = exists().where(
            *seen_tasks(user_id, parents.c), parents.c.id == query["parent_id"]
        )
        checks.append(found.label("found_parent_id"))
    return checks


REFERENCE_NOT_FOUND = {"list_id": LIST_NOT_FOUND, "parent_id": TASK_NOT_FOUND}


class Shared(NamedTuple):
    """The branch of the lists `user_id` is a member of."""

    user_id: object


def _shared(user_id) -> list:
    """The tasks of the lists the user is a member of, as (owner, list) pairs:
    each list's tasks carry its owner's user_id."""
    pairs = select(LISTS.user_id, LISTS.id).where(LISTS.id.in_(member_lists(user_id)))
    return [tuple_(TASKS.user_id, TASKS.list_id).in_(pairs), TASKS.deleted_at.is_(None)]


def _branches(user_id, query: dict) -> list:
    """The WHERE clauses whose union is what the user sees (core/scope.py): one
    for a named list or parent or the inbox, else the user's own places and the
    lists they are a member of (Shared)."""
    named, parent = query.get("list_id"), query.get("parent_id")
    if named == QueryReference.NONE:
        return [[*owned(user_id, TASKS)]]
    # a named list is read by its (list_id, sort key) index, a named parent's
    # subtasks by ix_tasks_parent_position: the filter names the place
    if named is not None or parent not in (None, QueryReference.NONE):
        return [[*seen_tasks(user_id, TASKS)]]
    return [[*owned(user_id, TASKS)], Shared(user_id)]


def _branch_count(user_id, branch, filters: list, dialect: str, unfiltered: bool):
    """How many tasks of one branch match: unfiltered on PostgreSQL, the rows
    the triggers keep (the user's in `task_counts`, each list's in
    `list_task_counts`), so the total of a long list costs no more than of a
    short one."""
    if dialect == "postgresql" and unfiltered:
        if isinstance(branch, Shared):
            in_lists = LIST_COUNTS.list_id.in_(member_lists(branch.user_id))
            live = select(func.sum(LIST_COUNTS.live)).where(in_lists)
        else:
            live = select(COUNTS.live).where(*of_user(user_id, COUNTS))
        return func.coalesce(live.scalar_subquery(), 0)
    conditions = _shared(branch.user_id) if isinstance(branch, Shared) else branch
    counted = select(func.count()).select_from(Task.__table__)
    return counted.where(*conditions, *filters).scalar_subquery()


def _total(user_id, branches: list, filters: list, dialect: str, unfiltered: bool):
    """A one-row subquery: how many tasks match, summed over the branches
    (unfiltered: the user's own places and the lists they are a member of)."""
    counts = [_branch_count(user_id, b, filters, dialect, unfiltered) for b in branches]
    total = sum(counts[1:], counts[0])
    return select(total.label("total")).subquery("counted")


# Pages up to this offset read their rows straight from the sorted scan; deeper
# ones choose the page on (id, sort key) first (an index-only scan steps over the
# offset without touching the table), then fetch only its rows.
DIRECT_PAGE_MAX_OFFSET = 200


def _scan(branch, filters: list, sort: str, dialect: str):
    """A branch's matching rows (with `sort_key`), in the listing's order. The
    lists one is a member of, on PostgreSQL: each list's first `reach` rows
    from its (list_id, sort key) index (a LATERAL per list, migration 0015),
    so a member of long lists never sorts them whole."""
    sort_key = _sort_column(sort.lstrip("-"), dialect)
    rows = select(Task.__table__, sort_key.label("sort_key"))
    order = _order_by(sort, dialect)
    if not isinstance(branch, Shared):
        return rows.where(*branch, *filters).order_by(*order)
    if dialect != "postgresql":
        return rows.where(*_shared(branch.user_id), *filters).order_by(*order)
    lists = (
        select(LISTS.id, LISTS.user_id)
        .where(LISTS.id.in_(member_lists(branch.user_id)))
        .subquery("member_lists")
    )
    per_list = (
        rows.where(TASKS.list_id == lists.c.id, TASKS.deleted_at.is_(None), *filters)
        .order_by(*order)
        .limit(bindparam("reach"))
        .lateral("per_list")
    )
    return (
        select(per_list)
        .select_from(lists)
        .join(per_list, true())
        .order_by(*_order_by(sort, dialect, per_list.c))
    )


def _page_rows(branches: list, filters: list, sort: str, dialect: str):
    """The page's rows (with `sort_key`): of one branch, its sorted scan; of
    two, the first `reach` (offset + limit) rows of each, merged and cut."""
    limit, offset = bindparam("limit"), bindparam("offset")
    scans = [_scan(branch, filters, sort, dialect) for branch in branches]
    if len(scans) == 1:
        return scans[0].limit(limit).offset(offset).subquery("page_rows")
    reach = [scan.limit(bindparam("reach")).subquery() for scan in scans]
    merged = union_all(*(select(part) for part in reach)).subquery("merged")
    return (
        select(merged)
        .order_by(*_order_by(sort, dialect, merged.c))
        .limit(limit)
        .offset(offset)
        .subquery("page_rows")
    )


def _page_statement(branches, filters, counted, sort, dialect, direct, checks=()):
    """The listing's statement, with the user, LIMIT, OFFSET and reach as bound
    parameters (`owner_id`, `limit`, `offset`, `reach`); `checks`, more columns
    of the one-row side (see _references)."""
    if direct or len(branches) > 1:
        rows = _page_rows(branches, filters, sort, dialect)
        return (
            select(counted.c.total, *checks, *task_columns(rows.c))
            .select_from(counted)
            .outerjoin(rows, true())
            .order_by(*_order_by(sort, dialect, rows.c))
        )
    sort_key = _sort_column(sort.lstrip("-"), dialect)
    (conditions,) = branches
    ids = (
        select(TASKS.id, sort_key.label("sort_key"))
        .where(*conditions, *filters)
        .order_by(*_order_by(sort, dialect))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page_ids")
    )
    return (
        select(counted.c.total, *checks, *task_columns(TASKS))
        .select_from(counted)
        .outerjoin(ids, true())
        .outerjoin(Task.__table__, TASKS.id == ids.c.id)
        .order_by(*_order_by(sort, dialect, ids.c))
    )


@functools.lru_cache(maxsize=64)
def _unfiltered_page_statement(sort: str, dialect: str, direct: bool):
    """Built once per sort: the unfiltered listing differs only in its bound
    parameters from one request to the next (the user among them).

    A shallow page runs prepared. A deep page is planned each time: its plan
    depends on how far the OFFSET reaches, which a generic plan cannot know.
    Filtered listings, whose text varies, are planned each time too."""
    user_id = bindparam("owner_id", type_=String)
    branches = _branches(user_id, {})
    counted = _total(user_id, branches, [], dialect, unfiltered=True)
    statement = _page_statement(branches, [], counted, sort, dialect, direct)
    return prepared(statement) if direct else statement


def list_tasks(user_id: str, query: dict) -> TaskPage:
    """One page of the tasks the user sees, and how many match, in one statement.

    The total is a one-row subquery beside the page, so a page past the end
    still learns the total. A shallow page (the usual case) is one sorted scan
    of the matching rows per branch; a deep one of a single branch is chosen on
    ids alone (an index-only scan where an index covers the sort), then joined
    to its rows.
    """
    dialect = dialect_name()
    page, per_page, sort = query["page"], query["per_page"], query["sort"]
    offset = (page - 1) * per_page
    direct = offset <= DIRECT_PAGE_MAX_OFFSET
    if query.get("assignee_id") == AssigneeQuery.ME:
        query = {**query, "assignee_id": user_id}
    if all(query.get(name) is None for name in FILTERS):
        statement = _unfiltered_page_statement(sort, dialect, direct)
    else:
        branches = _branches(user_id, query)
        filters = conditions_of(query, dialect)
        counted = _total(user_id, branches, filters, dialect, unfiltered=False)
        checks = _references(user_id, query)
        statement = _page_statement(
            branches, filters, counted, sort, dialect, direct, checks
        )
    parameters = {
        "owner_id": user_id,
        "limit": per_page,
        "offset": offset,
        "reach": offset + per_page,
    }
    rows = Session.execute(statement, parameters).all()
    for name, message in REFERENCE_NOT_FOUND.items():
        if not getattr(rows[0], f"found_{name}", True):
            raise invalid(name, message, location="query")
    # rows of (total, the task's columns); a page past the end is one row of
    # the total alone, the task's columns NULL
    return TaskPage([row for row in rows if row.id is not None], rows[0].total)
