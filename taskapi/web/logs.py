"""Request ids and structured logs: every response has `X-Request-ID` (the
caller's if it is 1-128 characters of `A-Z a-z 0-9 . _ -`, else a new one); every
log line is one JSON object on stderr carrying it, and every request ends with one
(method, path, status, duration_ms, user_id: never the query string or headers,
where tokens live).
"""

import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

import orjson
from flask import g, has_request_context, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
REQUEST_LOGGER = "taskapi.request"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is emitted."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class JSONFormatter(logging.Formatter):
    """One JSON object per record; a record's `fields` extra is merged in."""

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": (g.get("request_id") if has_request_context() else None),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def assign_request_id():
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def finish_request(response):
    """after_request (500s included): the X-Request-ID header and the log line."""
    request_id = g.get("request_id")
    if request_id is None:  # a failure before assign_request_id ran
        request_id = g.request_id = uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    logger = logging.getLogger(REQUEST_LOGGER)
    if logger.isEnabledFor(logging.INFO):
        started = g.get("request_started")
        logger.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    # a path holding a secret (a calendar feed's URL) sets
                    # g.logged_path, the path with the secret left out
                    "path": g.get("logged_path") or request.path,
                    "status": response.status_code,
                    "duration_ms": (
                        round((time.perf_counter() - started) * 1000, 2)
                        if started is not None
                        else None
                    ),
                    "user_id": g.get("user_id"),
                }
            },
        )
    return response


def init_app(app) -> None:
    handler = StderrHandler()
    handler.setFormatter(JSONFormatter())
    # app.logger is "taskapi" (the package name): the request logger, and any
    # "taskapi.*" module logger, propagate to it and share the handler.
    for logger in (app.logger, logging.getLogger(REQUEST_LOGGER)):
        logger.setLevel(app.config["LOG_LEVEL"])
    app.logger.handlers[:] = [handler]
    app.logger.propagate = False
    # The MCP SDK's warnings (a refused request, a failed tool) as JSON lines too.
    sdk = logging.getLogger("mcp")
    sdk.handlers[:] = [handler]
    sdk.propagate = False
    sdk.setLevel(logging.WARNING)
    app.before_request(assign_request_id)
    app.after_request(finish_request)
