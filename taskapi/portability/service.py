"""What an export reads: the lists the user owns, their live tasks in keyset
pages (one statement each, no transaction held between them), their webhooks."""

from collections.abc import Iterator

from sqlalchemy import case, exists, select

from ..core.db import Session
from ..core.pagination import keyset_pages
from ..core.scope import of_user, owned
from ..lists.models import LISTS
from ..tasks.models import TASKS, Task, task_columns
from ..webhooks.models import Webhook

PAGE_SIZE = 500

_NEXT = Task.__table__.alias("next_occurrence")


def _columns() -> list:
    """task_columns(), but a next occurrence that is no longer a live task of
    the user's is left out: the document names only tasks it holds."""
    kept = exists().where(
        _NEXT.c.id == TASKS.next_task_id, *owned(TASKS.user_id, _NEXT.c)
    )
    columns = []
    for column in task_columns():
        if column.key == "next_task_id":
            column = case((kept, TASKS.next_task_id)).label("next_task_id")
        columns.append(column)
    return columns


def owned_lists(user_id: str) -> list:
    rows = Session.execute(
        select(LISTS.id, LISTS.name, LISTS.created_at, LISTS.updated_at)
        .where(*owned(user_id, LISTS))
        .order_by(LISTS.created_at, LISTS.id)
    ).all()
    Session.commit()
    return rows


def webhooks(user_id: str) -> list:
    rows = Session.execute(
        select(Webhook.id, Webhook.url, Webhook.events, Webhook.active)
        .add_columns(Webhook.created_at)
        .where(*of_user(user_id, Webhook))
        .order_by(Webhook.created_at, Webhook.id)
    ).all()
    Session.commit()
    return rows


def task_pages(user_id: str) -> Iterator[list]:
    """The live tasks of the user's places in (created_at, id) order, a page
    of PAGE_SIZE at a time."""
    statement = select(*_columns()).where(*owned(user_id, TASKS))
    return keyset_pages(statement, (TASKS.created_at, TASKS.id), PAGE_SIZE)
