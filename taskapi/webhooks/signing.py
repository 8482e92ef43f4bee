"""What a webhook delivery sends and how it is signed: the event's JSON body (the
task as the API renders it) and the Standard Webhooks headers, whose signature is
made here with the webhook's secret (HMAC-SHA256 over id, timestamp and body)."""

import json
import uuid
from datetime import datetime

from sqlalchemy import Uuid
from standardwebhooks import Webhook as Signer

from ..core.db import UTCDateTime
from ..core.fields import rfc3339
from ..tasks.models import TASK_COLUMNS, Task
from ..tasks.schemas import TaskSchema

_DATETIMES = {c.name for _, c in TASK_COLUMNS if isinstance(c.type, UTCDateTime)}
_UUIDS = {c.name for _, c in TASK_COLUMNS if isinstance(c.type, Uuid)}


def task_from_row_json(row: dict) -> Task:
    """The Task of a row as to_jsonb wrote it, for TaskSchema to render as the
    API does."""
    values = {}
    for key, column in TASK_COLUMNS:
        value = row.get(column.name)
        if value is not None and column.name in _DATETIMES:
            value = datetime.fromisoformat(value)
        elif value is not None and column.name in _UUIDS:
            value = uuid.UUID(value)
        values[key] = value
    return Task(**values)


def event_body(event) -> str:
    data = {"task": TaskSchema().dump(task_from_row_json(event.task))}
    if event.remind_at is not None:
        data["remind_at"] = rfc3339(event.remind_at)
    body = {
        "id": str(event.event_id),
        "type": event.type,
        "created_at": rfc3339(event.created_at),
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"))


def signed_headers(secret: str, msg_id: str, body: str, now: datetime) -> dict:
    """The headers of one delivery: its id (the same on every retry, for the
    receiver to deduplicate by), its time, and the signature of the three."""
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(secret).sign(msg_id, now, body),
    }
