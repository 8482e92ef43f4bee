"""`Idempotency-Key` on POST /tasks: a retried create answers the first 201 again.

The transaction that inserts the task claims the key (INSERT ... ON CONFLICT DO
NOTHING), so a concurrent request with the same key waits in the database for the
first: one key creates one task, whatever the timing, with no lock in Python.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import orjson
from flask import current_app
from sqlalchemy import Row, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.exceptions import Conflict, ServiceUnavailable

from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, dialect_name
from ..core.etags import etag_of
from ..core.scope import of_user
from . import service as task_queries
from .models import IdempotencyKey
from .schemas import TaskSchema

KEY_LIFETIME = timedelta(hours=24)
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Replay:
    """The stored first answer to a request with this key."""

    task_id: object
    body: str
    etag: str

    def response(self, location: str):
        return current_app.response_class(
            self.body,
            status=201,
            mimetype="application/json",
            headers={"Location": location, "ETag": self.etag},
        )


def fingerprint(fields: dict) -> str:
    """The request body as validated, so key order and white space do not matter."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _insert():
    dialect = postgresql if dialect_name() == "postgresql" else sqlite
    return dialect.insert(IdempotencyKey).on_conflict_do_nothing()


def _expired(stored: IdempotencyKey) -> bool:
    return stored.created_at < utcnow() - KEY_LIFETIME


def _delete_expired(*conditions) -> int:
    expired = select(IdempotencyKey.user_id, IdempotencyKey.key).where(
        IdempotencyKey.created_at < utcnow() - KEY_LIFETIME, *conditions
    )
    if dialect_name() == "postgresql":
        # Rows another request is deleting right now are its business: skipping
        # them means two cleanups never wait for (or deadlock on) each other.
        expired = expired.with_for_update(skip_locked=True)
    result = Session.execute(
        delete(IdempotencyKey).where(
            tuple_(IdempotencyKey.user_id, IdempotencyKey.key).in_(expired)
        )
    )
    return result.rowcount


def create_task_once(
    user_id: str, key: str, fields: dict, request: dict | None = None
) -> Row | Replay:
    """Create the task and claim the key in one transaction, or replay the key's
    first answer (409 if that was for another body). `request`: what the key's
    body is, when not `fields` (quick add's text, whose "tomorrow" moves)."""

    def write():
        task = task_queries.add_task(user_id, fields)
        answer = orjson.dumps(TaskSchema().dump(task)).decode()
        return task, Answer(task.id, answer, etag_of(task), task.created_at)

    claimed = fields if request is None else request
    return run_once(user_id, key, fingerprint(claimed), write)


@dataclass(frozen=True)
class Answer:
    """What a key remembers of the write it claimed: the id of what it made,
    the response body and ETag to replay, when."""

    task_id: object
    body: str
    etag: str
    created_at: object


def run_once(user_id: str, key: str, request_fingerprint: str, write):
    """Run `write()` (which returns (result, Answer)) and claim the key in one
    transaction; its result, or the key's first answer as a Replay (409 if that
    was for another body). Creates and imports (portability/) go through it."""
    for _attempt in range(CLAIM_ATTEMPTS):
        begin_transaction()  # the write and the claim commit together, or neither
        _delete_expired(*of_user(user_id, IdempotencyKey))
        result, answer = write()
        claim = _insert().values(
            user_id=user_id,
            key=key,
            fingerprint=request_fingerprint,
            task_id=answer.task_id,
            response_body=answer.body,
            etag=answer.etag,
            created_at=answer.created_at,
        )
        if Session.execute(claim).rowcount == 1:
            Session.commit()
            return result
        Session.rollback()  # the write above is undone
        stored = Session.get(IdempotencyKey, (user_id, key), populate_existing=True)
        if stored is None or _expired(stored):
            continue  # the holder rolled back, or the key expired: claim it again
        if stored.fingerprint != request_fingerprint:
            raise Conflict(
                "This Idempotency-Key was already used with a different request "
                "body. Send a new key for a new request."
            )
        return Replay(stored.task_id, stored.response_body, stored.etag)
    raise ServiceUnavailable(
        "The Idempotency-Key is contended right now; retry.", retry_after=1
    )


def create(
    user_id: str, fields: dict, key: str | None, request: dict | None = None
) -> Row | Replay:
    """A create as POST /tasks makes it: once per Idempotency-Key when one is
    sent (see create_task_once), else simply."""
    if key is None:
        return task_queries.create_task(user_id, fields)
    return create_task_once(user_id, key, fields, request)


def stored_answer(user_id: str, key: str) -> IdempotencyKey | None:
    """The key's stored first answer, unless it has expired."""
    stored = Session.get(IdempotencyKey, (user_id, key), populate_existing=True)
    return None if stored is None or _expired(stored) else stored


def purge_expired() -> int:
    """Remove every key older than 24 hours (the CLI's purge-idempotency-keys)."""
    purged = _delete_expired()
    Session.commit()
    return purged
