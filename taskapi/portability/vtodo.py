"""An iCalendar file of VTODOs (Apple Reminders, Thunderbird, Nextcloud Tasks,
tasks.org) as an import document: each VTODO a task entry, written as a client
would write it, so that the same checks as a JSON import apply."""

from datetime import date, datetime, timezone

from icalendar import Calendar

from ..core.errors import invalid
from ..core.fields import rfc3339
from .document import FORMAT, VERSION

NOT_A_CALENDAR = "Not an iCalendar file (text/calendar) of VTODOs."
NO_TODOS = "The calendar holds no VTODO (no tasks to import)."
STATUSES = {"COMPLETED": "completed", "IN-PROCESS": "in_progress"}


def priority(value) -> str:
    """RFC 5545's 1 (highest) to 9 (lowest); 0 or none: undefined."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return "medium"
    if number == 1:
        return "urgent"
    if 2 <= number <= 4:
        return "high"
    if 6 <= number <= 9:
        return "low"
    return "medium"


def _instant(value) -> str | None:
    """A DUE or COMPLETED: with a TZID or in UTC, the UTC instant; floating
    (no zone), taken as UTC; a date, that day (midnight UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    return None


def _first(component, name):
    """A property's value; the first, when a client wrote it more than once."""
    value = component.get(name)
    return value[0] if isinstance(value, list) else value


def _text(component, name) -> str:
    value = _first(component, name)
    return "" if value is None else str(value).strip()


def _date(component, name):
    """A date or date-time property's value (None if absent)."""
    return getattr(_first(component, name), "dt", None)


def _zone(component) -> str:
    due = _first(component, "DUE")
    tzid = due.params.get("TZID") if due is not None else None
    return str(tzid) if tzid else "UTC"


def _tags(component) -> list[str]:
    found = component.get("CATEGORIES")
    if found is None:
        return []
    groups = found if isinstance(found, list) else [found]
    tags = (str(tag).strip() for group in groups for tag in group.cats)
    return [tag for tag in tags if tag]


def _parent(component) -> str | None:
    related = component.get("RELATED-TO")
    for link in related if isinstance(related, list) else [related]:
        if link is None or not str(link).strip():
            continue
        if str(link.params.get("RELTYPE", "PARENT")).upper() == "PARENT":
            return str(link).strip()
    return None


def entry(component, index: int) -> dict:
    """A VTODO as a task entry of the document."""
    task = {
        "id": _text(component, "UID") or f"#{index}",
        "title": _text(component, "SUMMARY"),
        "priority": priority(_first(component, "PRIORITY")),
        "tags": _tags(component),
        "parent_id": _parent(component),
    }
    if _text(component, "DESCRIPTION"):
        task["description"] = str(_first(component, "DESCRIPTION"))
    due = _instant(_date(component, "DUE"))
    if due is not None:
        task["due_date"] = due
    status = STATUSES.get(_text(component, "STATUS").upper())
    if status is None and component.get("COMPLETED") is not None:
        status = "completed"  # some clients set COMPLETED alone
    if status is not None:
        task["status"] = status
    if status == "completed":
        task["completed_at"] = _instant(_date(component, "COMPLETED"))
    rule = _first(component, "RRULE")
    if rule is not None:
        task["recurrence"] = {
            "rule": rule.to_ical().decode(),
            "timezone": _zone(component),
        }
    return task


def document(body: bytes) -> tuple[dict, list[str]]:
    """The import document of a calendar file, and each task's label for the
    errors (its UID); 422 if the body is not a calendar of VTODOs."""
    try:
        calendar = Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0][:200] if str(error) else ""
        message = f"{NOT_A_CALENDAR} {reason}".strip()
        raise invalid("calendar", message, "body") from None
    if calendar.name != "VCALENDAR":
        raise invalid("calendar", NOT_A_CALENDAR, "body")
    todos = calendar.walk("VTODO")
    if not todos:
        raise invalid("calendar", NO_TODOS, "body")
    tasks = [entry(todo, index) for index, todo in enumerate(todos)]
    lists = []
    name = str(calendar.get("X-WR-CALNAME", "")).strip()
    if name:  # one calendar is one list (Nextcloud, Thunderbird, Apple)
        lists.append({"id": "calendar", "name": name})
        for task in tasks:
            if task["parent_id"] is None:
                task["list_id"] = "calendar"
    found = {"format": FORMAT, "version": VERSION, "lists": lists, "tasks": tasks}
    return found, [task["id"] for task in tasks]
