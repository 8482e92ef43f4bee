"""gunicorn's threaded worker, answering the requests gunicorn refuses with JSON.

gunicorn turns away a request line or headers over its limits, and anything it
cannot parse, before the app sees the request, with an HTML page of its own. This
worker writes the contract's JSON error body instead, with gunicorn's status.
"""

import json
import uuid

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.http import HTTP_STATUS_CODES

from ..core.errors import error_body
from .security import JSON_CSP

# The statuses gunicorn gives these refusals (Worker.handle_error); any other
# request it cannot parse is a 400.
STATUSES = (
    (errors.LimitRequestLine, 414),
    (errors.LimitRequestHeaders, 431),
    (errors.UnsupportedTransferCoding, 501),
    (errors.ExpectationFailed, 417),
    (errors.ForbiddenProxyRequest, 403),
)
# Parse errors that are not the client's fault: gunicorn logs them as 500s.
NOT_REFUSALS = (
    errors.InvalidResponseHeader,
    errors.InvalidResponseHeaderName,
    errors.ConfigurationProblem,
)


def refusal_status(exc: BaseException) -> int | None:
    """The status for a request gunicorn refuses, or None for any other error."""
    if not isinstance(exc, errors.ParseException) or isinstance(exc, NOT_REFUSALS):
        return None
    return next((status for kind, status in STATUSES if isinstance(exc, kind)), 400)


def refusal_detail(status: int, cfg) -> str:
    if status == 414:
        return (
            "The request line (method, path and query string) is longer than "
            f"{cfg.limit_request_line} bytes."
        )
    if status == 431:
        return (
            f"A request header is longer than {cfg.limit_request_field_size} bytes, "
            f"or there are more than {cfg.limit_request_fields} of them."
        )
    return f"The request could not be accepted: {HTTP_STATUS_CODES[status]}."


def refusal_response(status: int, detail: str) -> bytes:
    title = HTTP_STATUS_CODES[status]
    body = json.dumps(error_body(status, detail)).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {uuid.uuid4().hex}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Security-Policy: {JSON_CSP}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class JSONErrorWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers are the contract's JSON."""

    def handle_error(self, req, client, addr, exc):
        status = refusal_status(exc)
        if status is None:  # the app's or the socket's failure: gunicorn logs it
            return super().handle_error(req, client, addr, exc)
        ip = (addr or ("", -1))[0]
        self.log.warning("Invalid request from ip=%s: %s", ip, exc)
        response = refusal_response(status, refusal_detail(status, self.cfg))
        try:
            util.write_nonblock(client, response)
        except Exception:
            self.log.debug("Failed to send error message.")
