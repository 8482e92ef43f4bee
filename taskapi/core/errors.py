"""One place that turns every error into the contract's JSON error body.

{"status": 422, "title": "Unprocessable Entity", "detail": "Validation failed",
 "errors": {"json": {"title": ["Shorter than minimum length 1."]}}}
"""

import marshmallow as ma
from flask import current_app, g, jsonify
from sqlalchemy.exc import (
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import (
    Conflict,
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    UnprocessableEntity,
)
from werkzeug.http import HTTP_STATUS_CODES

RETRY_AFTER_SECONDS = 5
# Live (not deleted) tasks per user, subtasks included. Migration 0012's trigger
# refuses an INSERT past it, naming this constraint.
MAX_LIVE_TASKS = 100_000
LIVE_TASKS_LIMIT = "tasks_live_limit"


class ErrorSchema(ma.Schema):
    """The error body, for the OpenAPI document."""

    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    title = ma.fields.String(metadata={"description": "HTTP status phrase"})
    detail = ma.fields.String(metadata={"description": "What went wrong, for people"})
    errors = ma.fields.Dict(
        metadata={"description": "422 only: messages by location, then by field"}
    )
    operation = ma.fields.Integer(
        metadata={"description": "POST /tasks/batch only: the failing operation"}
    )


def unprocessable(errors: dict, location: str = "json"):
    """A 422 with `errors` (messages by field) at `location`, as the schemas'
    own look."""
    error = UnprocessableEntity()
    error.data = {"message": "Validation failed", "errors": {location: errors}}
    return error


def invalid(field: str, message: str, location: str = "json"):
    """A 422 on one field, as the schemas' own look: for the checks only the
    database can make (a referenced list or task that is not the user's)."""
    return unprocessable({field: [message]}, location)


def error_body(status: int, detail: str, errors=None) -> dict:
    """The contract's error body: every error answer is built here, whoever
    sends it (the views, the MCP tools, the gunicorn worker)."""
    body = {
        "status": status,
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def error_response(status: int, detail: str, errors=None, headers=None):
    response = jsonify(error_body(status, detail, errors))
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def http_error(error: HTTPException):
    """Answer any werkzeug/webargs/flask-smorest HTTPException."""
    if isinstance(error, InternalServerError):
        return internal_error()
    data = getattr(error, "data", None) or {}
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    errors = data.get("errors") or data.get("messages")
    if error.code == 422:
        detail = data.get("message") or "Validation failed"
    else:
        detail = data.get("message") or error.description or error.name
        errors = None
    return error_response(error.code, detail, errors, headers)


def internal_error():
    # Flask has already logged the exception with its traceback (see web/logs.py).
    return error_response(
        500,
        f"An unexpected error occurred. Request id: {g.get('request_id', '-')}.",
    )


# Connection refused or timed out, a connection dropped mid-request, no free
# connection in the pool: the database is unavailable, and the request may be retried.
DATABASE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
)


# SQLSTATEs of a statement PostgreSQL cancelled: statement_timeout (or a cancel
# request), lock_timeout.
CANCELLED = {"57014", "55P03"}


def cancelled(error) -> bool:
    """Did the database cancel the statement for taking too long (PostgreSQL's
    statement or lock timeout, SQLite's progress handler in timeouts.py)?"""
    orig = getattr(error, "orig", None)
    if getattr(orig, "pgcode", None) in CANCELLED:
        return True
    return type(orig).__module__ == "sqlite3" and str(orig) == "interrupted"


def database_unavailable(error):
    """The database could not be reached, timed out, or cancelled a statement
    that ran too long: the client may retry."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    too_long = cancelled(error)
    current_app.logger.warning(
        "database %s: %s: %s",
        "statement cancelled" if too_long else "unavailable",
        type(error).__name__,
        reason[0] if reason else "",
    )
    detail = (
        "The request took too long in the database and was stopped; retry shortly."
        if too_long
        else "The database is unavailable right now; retry shortly."
    )
    return error_response(
        503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def refused_by_a_limit(context) -> None:
    """SQLAlchemy's handle_error hook: an INSERT that migration 0012's trigger
    refused (the user's live tasks past MAX_LIVE_TASKS) is the contract's 409,
    from whichever write path made it (create, batch, next occurrence, MCP)."""
    error = context.sqlalchemy_exception
    if not isinstance(error, IntegrityError):
        return
    orig = error.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg2
        refused = diag.constraint_name == LIVE_TASKS_LIMIT
    else:  # sqlite3: RAISE(ABORT, ...)'s message
        refused = str(orig) == LIVE_TASKS_LIMIT
    if refused:
        raise Conflict(
            f"At most {MAX_LIVE_TASKS:,} tasks per user: delete some first."
        ) from None


def init_app(app) -> None:
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)


def too_busy():
    """A 503 for a write that lost to concurrent writers of its task every time."""
    return ServiceUnavailable(
        "The task is being changed by other requests right now; retry.",
        retry_after=1,
    )
