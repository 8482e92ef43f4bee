"""Request ids and log records that carry them.

Every response has `X-Request-ID`: the caller's when it is 1-128 characters of
`A-Z a-z 0-9 . _ -`, else a fresh one. Log lines written while serving a request
name it, so a 500's traceback can be found from what the client saw.
"""

import logging
import re
import uuid

from flask import g, has_request_context, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def assign_request_id():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def add_request_id(response):
    response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
    return response


def init_app(app) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
        )
    )
    handler.addFilter(RequestIdFilter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config["LOG_LEVEL"])
    app.logger.propagate = False
    app.before_request(assign_request_id)
    app.after_request(add_request_id)
