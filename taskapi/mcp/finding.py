"""The tools that find tasks: find_tasks (the listing, paged by an
opaque cursor), and search and fetch in the shape OpenAI's connectors and deep
research expect (a result's `url` is the task's REST URL on this server)."""

import base64
import hashlib

import orjson
from flask import g

from ..tasks import listing, lookup
from ..tasks.schemas import TaskQuerySchema, TaskSchema
from .arguments import FetchArguments, FindTasksArguments, SearchArguments
from .tools import invalid

SEARCH_RESULTS = 20
# The listing's query names find_tasks takes: its filters and sort (paging is
# limit and cursor).
FIND_FIELDS = frozenset(TaskQuerySchema.filter_names()) | {"sort"}


def _fingerprint(query: dict, limit: int) -> str:
    text = orjson.dumps([query, limit], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()[:16]


def _cursor(page: int, query: dict, limit: int) -> str:
    """The next page's cursor: its number, bound to the filters and limit it
    pages through (base64url, opaque to the agent)."""
    text = orjson.dumps({"page": page, "of": _fingerprint(query, limit)})
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def _page_of(cursor: str, query: dict, limit: int) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        read = orjson.loads(text)
        page, of = read["page"], read["of"]
    except (ValueError, TypeError, KeyError):
        raise invalid({"cursor": ["Not a cursor find_tasks gave."]}, "query") from None
    if of != _fingerprint(query, limit) or not isinstance(page, int) or page < 2:
        raise invalid(
            {"cursor": ["Send the filters, sort and limit of the first page with it."]},
            "query",
        )
    return page


def find_tasks(user, arguments):
    unknown = sorted(set(arguments) - FIND_FIELDS - {"limit", "cursor"})
    if unknown:
        raise invalid({name: ["Unknown field."] for name in unknown}, "query")
    paging = FindTasksArguments().load(arguments)
    query = {name: arguments[name] for name in FIND_FIELDS if name in arguments}
    limit = paging["limit"]
    page = 1
    if "cursor" in paging:
        page = _page_of(paging["cursor"], query, limit)
    loaded = TaskQuerySchema().load({**query, "page": page, "per_page": limit})
    tasks, total = listing.list_tasks(user, loaded)
    more = page * limit < total
    found = {
        "tasks": TaskSchema(many=True).dump(tasks),
        "next_cursor": _cursor(page + 1, query, limit) if more else None,
    }
    text = f"{len(tasks)} of {total} task(s)" + ("; more with next_cursor" * more)
    return text, found


def task_url(task_id) -> str:
    """The task's REST URL on the server the agent called (a path over stdio)."""
    return f"{g.get('origin') or '/'}api/tasks/{task_id}"


def search(user, arguments):
    text = SearchArguments().load(arguments)["query"]
    query = TaskQuerySchema().load({"q": text, "per_page": SEARCH_RESULTS})
    tasks, _ = listing.list_tasks(user, query)
    results = [
        {"id": str(task.id), "title": task.title, "url": task_url(task.id)}
        for task in tasks
    ]
    found = {"results": results}
    return orjson.dumps(found).decode(), found


def _document(task: dict) -> str:
    lines = [task["title"]]
    if task["description"]:
        lines.append(task["description"])
    facts = [f"status: {task['status']}", f"priority: {task['priority']}"]
    if task["due_date"]:
        facts.append(f"due: {task['due_date']}")
    if task["tags"]:
        facts.append("tags: " + ", ".join(task["tags"]))
    lines.append("; ".join(facts))
    return "\n\n".join(lines)


def fetch(user, arguments):
    task_id = FetchArguments().load(arguments)["id"]
    task = TaskSchema().dump(lookup.get_task(user, task_id))
    metadata = {
        name: value
        for name, value in task.items()
        if name not in ("id", "title", "description")
    }
    document = {
        "id": task["id"],
        "title": task["title"],
        "text": _document(task),
        "url": task_url(task["id"]),
        "metadata": metadata,
    }
    return orjson.dumps(document).decode(), document
