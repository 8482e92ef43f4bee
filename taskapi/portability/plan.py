"""POST /import's plan: the document checked (every error at once, each by
its task's index or UID) and its rows built, with new ids and every reference
mapped within the document; each task checked by the create's rules."""

import uuid
from dataclasses import dataclass, field

from fractional_indexing import FIError, validate_order_key
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..core.columns import utcnow
from ..core.errors import unprocessable
from ..recurrence.occurrences import check_recurrence, stored_reminders
from ..tasks.service import new_task_row
from .schemas import DocumentSchema, load_list, load_task

NOT_IN_LISTS = "No list of the document has this id."
NOT_IN_TASKS = "No task of the document has this id."
DUPLICATE_ID = "Another entry of the document has this id."
NESTED = "This parent is a subtask itself: subtasks have no subtasks."


@dataclass
class Plan:
    """The rows an import inserts, in order: lists, parents, subtasks."""

    lists: list = field(default_factory=list)
    # in the document's order; a position is None where the document's was not kept
    tasks: list = field(default_factory=list)


class _Checked:
    """The document's entries, loaded; errors by the entry's label (its index
    in the document, or for a calendar the VTODO's UID)."""

    def __init__(self, document: dict, labels: list[str] | None):
        try:
            head = DocumentSchema().load(document)
        except ValidationError as error:
            raise unprocessable(error.normalized_messages()) from None
        self.labels = labels or [str(i) for i in range(len(head["tasks"]))]
        self.errors = {"lists": {}, "tasks": {}}
        self.lists = self._each(head["lists"], load_list, "lists")
        self.tasks = self._each(head["tasks"], load_task, "tasks")

    def _each(self, entries, load, kind) -> list:
        loaded = []
        for index, entry in enumerate(entries):
            label = self.labels[index] if kind == "tasks" else str(index)
            try:
                loaded.append(load(entry))
            except ValidationError as error:
                self.errors[kind][label] = error.normalized_messages()
                loaded.append(None)
        return loaded

    def fail(self, kind: str, index: int, name: str, message: str) -> None:
        label = self.labels[index] if kind == "tasks" else str(index)
        self.errors[kind].setdefault(label, {}).setdefault(name, []).append(message)

    def raise_any(self) -> None:
        errors = {kind: found for kind, found in self.errors.items() if found}
        if errors:
            raise unprocessable(errors)


def plan(user_id: str, document: dict, labels: list[str] | None = None) -> Plan:
    """Check everything the document holds (every error at once, 422) and
    build the rows, new ids for its ids."""
    checked = _Checked(document, labels)
    list_ids = _new_ids(checked, "lists", checked.lists)
    task_ids = _new_ids(checked, "tasks", [t and t[0] for t in checked.tasks])
    entries = {
        t[0]["id"]: t[0] for t in checked.tasks if t is not None
    }  # by document id
    now, result = utcnow(), Plan()
    for entry in checked.lists:
        if entry is not None:
            new_id = list_ids[entry["id"]]
            result.lists.append({**entry, "id": new_id})
    series, exported_by = {}, document.get("user_id")
    for index, loaded in enumerate(checked.tasks):
        if loaded is None:
            continue
        entry, fields = loaded
        row = _task_row(checked, index, entry, fields, list_ids, task_ids, entries)
        if row is None:
            continue
        if row["recurrence"] is not None or entry.get("series_id"):
            key = entry.get("series_id") or entry["id"]
            row["series_id"] = task_ids.get(key) or series.setdefault(key, uuid.uuid4())
        _with_history(row, entry, fields, user_id, exported_by, now)
        result.tasks.append({**row, "position": _valid_position(entry)})
    checked.raise_any()
    return result


def _new_ids(checked: _Checked, kind: str, entries: list) -> dict:
    ids = {}
    for index, entry in enumerate(entries):
        if entry is None:
            continue
        if entry["id"] in ids:
            checked.fail(kind, index, "id", DUPLICATE_ID)
        ids[entry["id"]] = uuid.uuid4()
    return ids


def _task_row(checked, index, entry, fields, list_ids, task_ids, entries):
    """The task's row with its references mapped; None (and the errors noted)
    when one names nothing in the document or the create's rules refuse it."""
    row = {"id": task_ids[entry["id"]], "list_id": None, "parent_id": None}
    parent = entry.get("parent_id")
    if parent is not None:
        if parent not in entries:
            checked.fail("tasks", index, "parent_id", NOT_IN_TASKS)
            return None
        if entries[parent].get("parent_id") is not None:
            checked.fail("tasks", index, "parent_id", NESTED)
            return None
        row["parent_id"] = task_ids[parent]
        entry = {**entry, "list_id": entries[parent].get("list_id")}  # its parent's
    list_id = entry.get("list_id")
    if list_id is not None:
        if list_id not in list_ids:
            checked.fail("tasks", index, "list_id", NOT_IN_LISTS)
            return None
        row["list_id"] = list_ids[list_id]
    next_id = entry.get("next_task_id")
    if next_id is not None and next_id not in task_ids:
        checked.fail("tasks", index, "next_task_id", NOT_IN_TASKS)
        return None
    row["next_task_id"] = None if next_id is None else task_ids[next_id]
    try:  # the create's rules that need more than one field
        check_recurrence(fields.get("recurrence"), fields.get("due_date"), parent)
        row["reminders"] = stored_reminders(
            fields.get("reminders", []), fields.get("due_date")
        )
    except HTTPException as refused:
        for name, messages in refused.data["errors"]["json"].items():
            for message in messages:
                checked.fail("tasks", index, name, message)
        return None
    row["recurrence"] = fields.get("recurrence")
    row["series_id"] = None
    return row


def _with_history(row, entry, fields, user_id: str, exported_by, now) -> None:
    """The rest of the row: what the create's fields say, the history the
    document keeps (created, completed), the importer as owner and author."""
    row.update(new_task_row(user_id, fields, now))
    # only the exporting user stays assignee: no one else sees the new lists
    assigned = entry.get("assignee_id") is not None
    assigned = assigned and entry["assignee_id"] == exported_by
    row["assignee_id"] = user_id if assigned else None
    row["created_at"] = entry.get("created_at") or now
    if row["completed"]:
        row["completed_at"] = entry.get("completed_at") or now


def _valid_position(entry: dict) -> str | None:
    """The entry's position if it is a valid order key, else None."""
    position = entry.get("position")
    try:
        validate_order_key(position)
    except (FIError, TypeError, IndexError):
        return None
    return position
