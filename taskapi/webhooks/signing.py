"""Where the webhook signature is made: an event's body, the task as the REST
API renders it, and the Standard Webhooks headers that sign it (`webhook-id`,
`webhook-timestamp`, `webhook-signature`) with the webhook's secret.
"""

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy import Uuid
from standardwebhooks import Webhook as Signer

from ..core.db import UTCDateTime
from ..core.fields import rfc3339 as _rfc3339
from ..tasks.models import TASK_COLUMNS as _TASK_COLUMNS
from ..tasks.models import Task
from ..tasks.schemas import TaskSchema

_DATETIMES = {c.name for _, c in _TASK_COLUMNS if isinstance(c.type, UTCDateTime)}
_UUIDS = {c.name for _, c in _TASK_COLUMNS if isinstance(c.type, Uuid)}


def task_from_row_json(row: dict) -> Task:
    """The Task of a row as to_jsonb wrote it, for TaskSchema to render as the
    API does."""
    values = {}
    for key, column in _TASK_COLUMNS:
        value = row.get(column.name)
        if value is not None and column.name in _DATETIMES:
            value = datetime.fromisoformat(value)
        elif value is not None and column.name in _UUIDS:
            value = uuid.UUID(value)
        values[key] = value
    return Task(**values)


def event_body(event) -> str:
    """What the receiver gets: compact JSON, who made the change (`actor`; null
    for reminder.due, which no one made), the task as the REST API shows it
    (reminder.due adds `remind_at`)."""
    data = {"task": TaskSchema().dump(task_from_row_json(event.task))}
    if event.remind_at is not None:
        data["remind_at"] = _rfc3339(event.remind_at)
    body = {
        "id": str(event.event_id),
        "type": event.type,
        "created_at": _rfc3339(event.created_at),
        "actor": event.actor,
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"))


def signature_headers(event, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of `body`, signed now with the webhook's
    secret; `webhook-id` is the event's id, the same on every retry."""
    now = datetime.now(timezone.utc)
    msg_id = str(event.event_id)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(event.secret).sign(msg_id, now, body),
    }
