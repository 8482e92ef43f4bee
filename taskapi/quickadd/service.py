"""Quick add: parse one line of text (grammar.py) into a task's fields, then
create it through the one create path of POST /tasks (tasks/idempotency.py's
create: the task, its Idempotency-Key, change feed, webhooks, reminders).
quick_add is the one function a view or an MCP tool calls."""

from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import Row

from ..core.columns import clock_now
from ..core.errors import invalid
from ..lists.service import get_lists, name_key
from ..recurrence.dates import WALL_TIME, public_recurrence
from ..tasks import idempotency
from .grammar import Parsed, Span, parse
from .schemas import ParsedTaskSchema


@dataclass(frozen=True)
class QuickTask:
    """What a text says: the create's checked fields, and where each was found."""

    fields: dict
    spans: list[Span]

    def preview(self) -> dict:
        """The fields the task would get, and the spans (?preview=true)."""
        return {
            "title": self.fields["title"],
            "priority": self.fields["priority"],
            "tags": self.fields.get("tags", []),
            "list_id": self.fields.get("list_id"),
            "due_date": self.fields.get("due_date"),
            "recurrence": public_recurrence(self.fields.get("recurrence")),
            "parsed": self.spans,
        }


def _list_finder(user_id: str):
    """`#name` -> the id of a list the user sees by that name (letter case
    ignored, as lists/ compares names): their own first, then shared ones."""
    by_key: dict[str, object] = {}
    for seen in sorted(get_lists(user_id), key=lambda seen: seen.role != "owner"):
        by_key.setdefault(seen.name_key, seen.id)
    return lambda name: by_key.get(name_key(name))


def _checked_fields(parsed: Parsed) -> dict:
    """The parsed task as POST /tasks would take it (ParsedTaskSchema: 422 on
    `text`), with the recurrence as recurrence/dates.py stores it."""
    body = {"title": parsed.title, "tags": parsed.tags}
    if parsed.priority is not None:
        body["priority"] = parsed.priority
    if parsed.list_id is not None:
        body["list_id"] = str(parsed.list_id)
    if parsed.due_date is not None:
        body["due_date"] = parsed.due_date.isoformat()
    if parsed.recurrence is not None:
        body["recurrence"] = public_recurrence(parsed.recurrence)
    try:
        fields = ParsedTaskSchema().load(body)
    except ValidationError as error:
        field, messages = next(iter(error.messages.items()))
        raise invalid(field, messages[0]) from None
    if parsed.recurrence is not None and WALL_TIME in parsed.recurrence:
        fields["recurrence"][WALL_TIME] = parsed.recurrence[WALL_TIME]
    return fields


def read_text(user_id: str, text: str, timezone: str, now: datetime) -> QuickTask:
    """The task `text` describes for this user at the instant `now`; 422 on
    `text` when it describes none. Creates nothing."""
    finder = _list_finder(user_id) if "#" in text else None
    parsed = parse(text, now, timezone, finder)
    return QuickTask(_checked_fields(parsed), parsed.spans)


def quick_add(
    user_id: str,
    text: str,
    timezone: str = "UTC",
    key: str | None = None,
    now: datetime | None = None,
) -> Row | idempotency.Replay:
    """Parse and create, as POST /tasks creates (once per Idempotency-Key `key`,
    which answers for the text and time zone sent). `now`: the app's clock."""
    quick = read_text(user_id, text, timezone, now or clock_now())
    request = {"quick_add": {"text": text, "timezone": timezone}}
    return idempotency.create(user_id, quick.fields, key, request)
