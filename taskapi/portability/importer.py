"""POST /import's write: a checked document becomes the caller's lists and
tasks, all in one transaction, with new ids and every reference mapped within
the document; rows inserted in bulk, each task checked by the create's rules."""

import uuid
from dataclasses import dataclass, field

import orjson
from fractional_indexing import generate_n_keys_between, validate_order_key
from marshmallow import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict, HTTPException, UnprocessableEntity

from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, refuse_past_limit
from ..core.scope import owned
from ..lists.models import LISTS, TaskList
from ..lists.service import MAX_LISTS, name_key
from ..recurrence.occurrences import check_recurrence, stored_reminders
from ..reminders.service import write_reminders
from ..tasks import idempotency
from ..tasks.models import PRIORITY_RANK, TASKS, Task
from .schemas import DocumentSchema, load_list, load_task

NOT_IN_LISTS = "No list of the document has this id."
NOT_IN_TASKS = "No task of the document has this id."
DUPLICATE_ID = "Another entry of the document has this id."
NESTED = "This parent is a subtask itself: subtasks have no subtasks."


@dataclass
class Plan:
    """The rows an import inserts, in order: lists, parents, subtasks."""

    lists: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    reminders: dict = field(default_factory=dict)


def refused(errors: dict):
    error = UnprocessableEntity()
    error.data = {"message": "Validation failed", "errors": {"json": errors}}
    return error


def _status(fields: dict) -> str:
    # as a create decides it: `status` if given, else from `completed`
    if "status" in fields:
        return fields["status"]
    return "completed" if fields.get("completed") else "pending"


class _Checked:
    """The document's entries, loaded; errors by the entry's label (its index
    in the document, or for a calendar the VTODO's UID)."""

    def __init__(self, document: dict, labels: list[str] | None):
        try:
            head = DocumentSchema().load(document)
        except ValidationError as error:
            raise refused(error.normalized_messages()) from None
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
            raise refused(errors)


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
    series = {}
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
        _with_history(row, entry, fields, user_id, now)
        if entry.get("assignee_id") != document.get("user_id"):
            row["assignee_id"] = None  # no one else sees the new lists
        key = _position_key(entry, index)
        result.tasks.append((key, {**row, "position": key[3]}))
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


def _with_history(row: dict, entry: dict, fields: dict, user_id: str, now) -> None:
    status = _status(fields)
    completed = status == "completed"
    row.update(
        user_id=user_id,
        created_by=user_id,
        changed_by=user_id,
        assignee_id=user_id if entry.get("assignee_id") else None,
        title=fields["title"],
        description=fields.get("description"),
        status=status,
        completed=completed,
        completed_at=(entry.get("completed_at") or now) if completed else None,
        priority=PRIORITY_RANK[fields["priority"]],
        due_date=fields.get("due_date"),
        tags=fields.get("tags", []),
        created_at=entry.get("created_at") or now,
        updated_at=now,
    )


def _position_key(entry: dict, index: int) -> tuple:
    position = entry.get("position")
    try:
        validate_order_key(position)
    except Exception:  # noqa: BLE001 (any malformed key: ordered by the index)
        position = None
    return (position is None, position or "", index, position)


def _positions(user_id: str, tasks: list) -> list[dict]:
    """Copies of the rows, each sibling group in the document's order: its keys
    as they were when valid and distinct, else new ones; the inbox's top level
    after what the inbox holds already."""
    groups: dict = {}
    for _key, row in sorted(tasks, key=lambda item: item[0][:3]):
        groups.setdefault((row["list_id"], row["parent_id"]), []).append(dict(row))
    for (list_id, parent_id), rows in groups.items():
        kept = [row["position"] for row in rows]
        start = None
        if list_id is None and parent_id is None:
            start = _inbox_last(user_id)
        if start is not None or None in kept or len(set(kept)) != len(kept):
            kept = generate_n_keys_between(start, None, len(rows))
        for position, row in zip(kept, rows, strict=True):
            row["position"] = position
    return [row for rows in groups.values() for row in rows]


def _inbox_last(user_id: str):
    return Session.execute(
        select(func.max(TASKS.position)).where(
            *owned(user_id, TASKS), TASKS.list_id.is_(None), TASKS.parent_id.is_(None)
        )
    ).scalar()


def _list_rows(user_id: str, lists: list, now) -> list[dict]:
    """The lists, each named as given unless the user has a list of that name:
    then "name (2)", "(3)"... (a list's names are unique per user)."""
    taken = set(
        Session.execute(select(LISTS.name_key).where(*owned(user_id, LISTS))).scalars()
    )
    rows = []
    for entry in lists:
        name, number = entry["name"], 1
        while name_key(name) in taken:
            number += 1
            suffix = f" ({number})"
            name = entry["name"][: 100 - len(suffix)] + suffix
        taken.add(name_key(name))
        rows.append(
            {
                "id": entry["id"],
                "user_id": user_id,
                "name": name,
                "name_key": name_key(name),
                "created_at": entry.get("created_at") or now,
                "updated_at": now,
            }
        )
    return rows


def write(user_id: str, planned: Plan) -> dict:
    """Insert the plan in the current transaction; what it created."""
    now = utcnow()
    if planned.lists:
        refuse_past_limit(
            f"lists:{user_id}",
            select(func.count() + len(planned.lists))
            .select_from(TaskList)
            .where(*owned(user_id, TaskList)),
            MAX_LISTS + 1,
            f"At most {MAX_LISTS} lists per user: this import would pass it.",
        )
        try:
            Session.execute(
                insert(TaskList.__table__), _list_rows(user_id, planned.lists, now)
            )
        except IntegrityError:  # a list renamed to one of these names meanwhile
            raise Conflict("A list name was taken meanwhile; retry.") from None
    rows = _positions(user_id, planned.tasks)
    reminders = {row["id"]: row["reminders"] for row in rows if row["reminders"]}
    # parents first: a subtask's foreign key names a row already there
    for subtasks in (False, True):
        batch = [row for row in rows if (row["parent_id"] is not None) is subtasks]
        if batch:
            Session.execute(insert(Task.__table__), batch)
    for task_id, stored in reminders.items():
        write_reminders(user_id, task_id, stored, new=True)
    return {"lists": len(planned.lists), "tasks": len(rows)}


def import_document(user_id: str, document: dict, key: str | None, labels=None):
    """Check, then write in one transaction (with the Idempotency-Key's claim
    when one is sent): what was created, or the key's first answer (Replay)."""
    planned = plan(user_id, document, labels)
    if key is None:
        begin_transaction()
        created = write(user_id, planned)
        Session.commit()
        return created

    def claimed_write():
        created = write(user_id, planned)
        answer = orjson.dumps(created).decode()
        return created, idempotency.Answer(uuid.uuid4(), answer, "", utcnow())

    return idempotency.run_once(
        user_id, key, idempotency.fingerprint(document), claimed_write
    )
