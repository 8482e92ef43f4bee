"""The export document, written piece by piece: its head, the lists, each page
of tasks, the webhooks and its end; memory holds one page of tasks."""

from collections.abc import Iterable, Iterator
from datetime import datetime

import orjson

from ..core.fields import rfc3339
from ..tasks.schemas import TaskSchema

FORMAT, VERSION = "taskapi", 1
_TASKS = TaskSchema()


def list_entry(row) -> dict:
    return {
        "id": str(row.id),
        "name": row.name,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


def webhook_entry(row) -> dict:
    """A webhook without its secret (a new one is made on creating it again)."""
    return {
        "id": str(row.id),
        "url": row.url,
        "events": list(row.events),
        "active": row.active,
        "created_at": rfc3339(row.created_at),
    }


def pieces(
    user_id: str,
    exported_at: datetime,
    lists: list,
    task_pages: Iterable[list],
    webhooks: list,
) -> Iterator[bytes]:
    """The document as bytes, in order: a JSON object whose `tasks` array is
    written one page at a time."""
    head = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": rfc3339(exported_at),
        "user_id": user_id,
        "lists": [list_entry(row) for row in lists],
    }
    # the head without its closing brace, then the tasks' array
    yield orjson.dumps(head)[:-1] + b',"tasks":['
    first = True
    for page in task_pages:
        if not page:
            continue
        body = b",".join(orjson.dumps(_TASKS.dump(task)) for task in page)
        yield body if first else b"," + body
        first = False
    tail = orjson.dumps([webhook_entry(row) for row in webhooks])
    yield b'],"webhooks":' + tail + b"}"
