"""POST /import's write: a plan (plan.py) inserted as the caller's lists and
tasks, all in one transaction, in bulk; positions kept or made, list names
kept unique; once per Idempotency-Key."""

import uuid

import orjson
from fractional_indexing import generate_n_keys_between
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict

from ..core.columns import utcnow
from ..core.db import Session, begin_transaction
from ..core.scope import owned
from ..lists.models import LISTS, TaskList
from ..lists.service import name_key, refuse_more_lists
from ..reminders.service import write_new_reminders
from ..tasks import idempotency
from ..tasks.models import Task
from ..tasks.ordering import last_position
from ..tasks.subtasks import Place
from .plan import Plan, plan


def _positions(user_id: str, tasks: list) -> list[dict]:
    """Copies of the rows, each sibling group in order of their valid keys, then
    (malformed or none) in the document's order (a stable sort): its keys as
    they were when valid and distinct, else new ones; the inbox's top level
    after what the inbox holds already."""
    groups: dict = {}
    in_order = sorted(
        tasks, key=lambda row: (row["position"] is None, row["position"] or "")
    )
    for row in in_order:
        groups.setdefault((row["list_id"], row["parent_id"]), []).append(dict(row))
    for (list_id, parent_id), rows in groups.items():
        kept = [row["position"] for row in rows]
        start = None
        if list_id is None and parent_id is None:
            start = last_position(Place(None, None, user_id))
        if start is not None or None in kept or len(set(kept)) != len(kept):
            kept = generate_n_keys_between(start, None, len(rows))
        for position, row in zip(kept, rows, strict=True):
            row["position"] = position
    return [row for rows in groups.values() for row in rows]


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
        refuse_more_lists(user_id, len(planned.lists), "this import would pass it.")
        try:
            Session.execute(
                insert(TaskList.__table__), _list_rows(user_id, planned.lists, now)
            )
        except IntegrityError:  # a list renamed to one of these names meanwhile
            raise Conflict("A list name was taken meanwhile; retry.") from None
    rows = _positions(user_id, planned.tasks)
    # parents first: a subtask's foreign key names a row already there
    for subtasks in (False, True):
        batch = [row for row in rows if (row["parent_id"] is not None) is subtasks]
        if batch:
            Session.execute(insert(Task.__table__), batch)
    write_new_reminders(rows)
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
        # an import makes no one task: the key keeps a fresh id, and no ETag
        return created, idempotency.Answer(uuid.uuid4(), answer, "", utcnow())

    return idempotency.run_once(
        user_id, key, idempotency.fingerprint(document), claimed_write
    )
