"""Every statement that reads or writes tasks, scoped to one user by `owned()`.

A task that is soft-deleted or belongs to someone else is, to these functions,
a task that does not exist.
"""

import uuid
from typing import NamedTuple

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from werkzeug.exceptions import NotFound

from .db import Session
from .models import PRIORITY_RANK, Task, TaskCount, utcnow

TASK_NOT_FOUND = "Task not found."


def owned(user_id: str):
    """The WHERE clause every task query carries: this user's live tasks."""
    return Task.user_id == user_id, Task.deleted_at.is_(None)


def _task_uuid(task_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise NotFound(TASK_NOT_FOUND) from None


def get_task(user_id: str, task_id: str) -> Task:
    task = Session.scalars(
        select(Task).where(*owned(user_id), Task.id == _task_uuid(task_id))
    ).one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


class TaskPage(NamedTuple):
    tasks: list[Task]
    total: int  # tasks matching the filters, on every page


def _sort_column(key: str, dialect: str):
    if key == "priority":
        return Task.priority_rank
    if key == "title":
        # Case-insensitive, then by code point on both databases (PostgreSQL
        # would otherwise use the database's locale collation).
        title = func.lower(Task.title)
        return title.collate("C") if dialect == "postgresql" else title
    return getattr(Task, key)


def _order_by(sort: str, dialect: str, columns=None) -> list:
    """ORDER BY for a `sort` value; ties broken by id in the same direction.

    `columns` maps the sort expressions onto a subquery's columns.
    """
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column, task_id = _sort_column(key, dialect), Task.id
    if columns is not None:
        column, task_id = columns["sort_key"], columns["id"]
    direction = (lambda c: c.desc()) if descending else (lambda c: c.asc())
    order = direction(column)
    if key == "due_date":
        order = order.nulls_last()  # tasks without a due date come last
    return [order, direction(task_id)]


def _tags_filter(tags: list[str], dialect: str) -> list:
    """The task carries every one of `tags`."""
    if dialect == "postgresql":  # one containment test, served by the GIN index
        return [type_coerce(Task.tags, JSONB).contains(tags)]
    conditions = []
    for tag in tags:
        each = func.json_each(Task.tags).table_valued("value")
        match = select(literal(1)).select_from(each).where(each.c.value == tag)
        conditions.append(match.exists())
    return conditions


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with %, _ and \\ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


FILTERS = ("completed", "priority", "tag", "q", "due_after", "due_before")


def _total(user_id: str, query: dict, conditions: list, dialect: str):
    """A one-row subquery: how many tasks match.

    Unfiltered on PostgreSQL, that is the user's row in `task_counts` (kept by
    triggers), so the total of a long list costs no more than of a short one.
    """
    unfiltered = all(query.get(name) is None for name in FILTERS)
    if dialect == "postgresql" and unfiltered:
        live = select(TaskCount.live).where(TaskCount.user_id == user_id)
        total = func.coalesce(live.scalar_subquery(), 0)
        return select(total.label("total")).subquery("counted")
    return (
        select(func.count().label("total"))
        .select_from(Task)
        .where(*conditions)
        .subquery("counted")
    )


def _filters(user_id: str, query: dict, dialect: str) -> list:
    conditions = [*owned(user_id)]
    if query.get("completed") is not None:
        conditions.append(Task.completed.is_(query["completed"]))
    if query.get("priority"):
        ranks = sorted({PRIORITY_RANK[name] for name in query["priority"]})
        conditions.append(Task.priority_rank.in_(ranks))
    if query.get("tag"):
        conditions.extend(_tags_filter(query["tag"], dialect))
    if query.get("q"):
        pattern = _like_pattern(query["q"])
        conditions.append(
            or_(
                Task.title.ilike(pattern, escape="\\"),
                Task.description.ilike(pattern, escape="\\"),
            )
        )
    if query.get("due_after") is not None:
        conditions.append(Task.due_date >= query["due_after"])
    if query.get("due_before") is not None:
        conditions.append(Task.due_date < query["due_before"])
    return conditions


def list_tasks(user_id: str, query: dict) -> TaskPage:
    """One page of the user's tasks, and how many match, in one statement.

    The page is chosen on ids alone (an index-only scan where an index covers
    the sort), then joined to its rows; the total is a one-row subquery beside
    it, so a page past the end still learns the total.
    """
    dialect = Session.get_bind().dialect.name
    conditions = _filters(user_id, query, dialect)
    page, per_page, sort = query["page"], query["per_page"], query["sort"]
    sort_key = _sort_column(sort.lstrip("-"), dialect)
    ids = (
        select(Task.id, sort_key.label("sort_key"))
        .where(*conditions)
        .order_by(*_order_by(sort, dialect))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("page_ids")
    )
    counted = _total(user_id, query, conditions, dialect)
    statement = (
        select(counted.c.total, Task)
        .select_from(counted)
        .outerjoin(ids, true())
        .outerjoin(Task, and_(Task.id == ids.c.id, *owned(user_id)))
        .order_by(*_order_by(sort, dialect, ids.c))
    )
    rows = Session.execute(statement).all()
    return TaskPage([task for _, task in rows if task is not None], rows[0].total)


def create_task(user_id: str, fields: dict) -> Task:
    now = utcnow()
    task = Task(user_id=user_id, created_at=now, updated_at=now, **fields)
    if task.completed:
        task.completed_at = now
    Session.add(task)
    Session.commit()
    return task


def update_task(task: Task, fields: dict) -> Task:
    """Apply the fields that differ from the task's values; no difference, no write."""
    changes = {
        name: value for name, value in fields.items() if getattr(task, name) != value
    }
    if not changes:
        return task
    now = utcnow()
    for name, value in changes.items():
        setattr(task, name, value)
    if "completed" in changes:
        task.completed_at = now if task.completed else None
    task.updated_at = now
    task.version += 1
    Session.commit()
    return task


def set_completed(user_id: str, task_id: str, completed: bool | None) -> Task:
    """Toggle (`completed` None) or set completion in one atomic UPDATE.

    The new value is computed by the database from the row's current value, so
    N concurrent toggles flip the task N times.
    """
    now = literal(utcnow(), Task.updated_at.type)
    new_value = ~Task.completed if completed is None else literal(completed)
    conditions = [*owned(user_id), Task.id == _task_uuid(task_id)]
    if completed is not None:
        conditions.append(Task.completed != completed)  # setting is idempotent
    statement = (
        update(Task)
        .where(*conditions)
        .values(
            completed=new_value,
            completed_at=case((new_value, now), else_=None),
            updated_at=now,
            version=Task.version + 1,
        )
        .returning(Task)
        .execution_options(synchronize_session=False)
    )
    task = Session.scalars(statement).one_or_none()
    Session.commit()
    return task if task is not None else get_task(user_id, task_id)


def soft_delete(user_id: str, task_id: str) -> None:
    result = Session.execute(
        update(Task)
        .where(*owned(user_id), Task.id == _task_uuid(task_id))
        .values(deleted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    Session.commit()
    if result.rowcount == 0:
        raise NotFound(TASK_NOT_FOUND)


def purge_deleted(before) -> int:
    """Remove soft-deleted tasks for good (the CLI's purge-deleted)."""
    result = Session.execute(
        delete(Task).where(Task.deleted_at.is_not(None), Task.deleted_at < before)
    )
    Session.commit()
    return result.rowcount
