"""JSON in and out: orjson for responses, and the request body rules of the contract.

The body rules, in the order they apply: over 1 MiB -> 413; empty -> 400 (unless the
schema says the body is optional); not `application/json` -> 415; not valid UTF-8
JSON -> 400. What the JSON says is then the schema's business (422).
"""

import orjson
from flask import current_app, request
from flask.json.provider import JSONProvider
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import (
    BadRequest,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

# marshmallow keys the errors of a list's items by position (an int).
ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


class ORJSONProvider(JSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        return orjson.dumps(obj, default=self._default, option=ORJSON_OPTIONS).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(
            orjson.dumps(obj, default=self._default, option=ORJSON_OPTIONS),
            mimetype="application/json",
        )

    @staticmethod
    def _default(obj):
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def is_json_media_type(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


BODY_LIMIT_ATTRIBUTE = "body_limit"


def body_limit(max_bytes: int):
    """Declare that a view (function or MethodView method) takes bodies up to
    `max_bytes` instead of MAX_CONTENT_LENGTH (an import's document)."""

    def declare(view):
        setattr(view, BODY_LIMIT_ATTRIBUTE, max_bytes)
        return view

    return declare


def _declared_body_limit() -> int | None:
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    method = getattr(view_class, request.method.lower(), None)
    for target in (method, view):
        limit = getattr(target, BODY_LIMIT_ATTRIBUTE, None)
        if limit is not None:
            return limit
    return None


def apply_body_limit() -> None:
    """before_request: the route's declared limit replaces MAX_CONTENT_LENGTH
    for this request (werkzeug reads it as the body is read, and so does
    request_body below for a chunked one)."""
    if request.endpoint is None:
        return
    limit = _declared_body_limit()
    if limit is not None:
        request.max_content_length = limit


def init_app(app) -> None:
    app.before_request(apply_body_limit)


def _chunked_past_the_limit(req, body: bytes) -> bool:
    """A body sent without Content-Length (chunked) is cut at MAX_CONTENT_LENGTH by
    werkzeug without an error; whether more was coming is for the raw input to say."""
    limit = req.max_content_length
    return (
        req.content_length is None
        and limit is not None
        and len(body) >= limit
        and bool(req.environ["wsgi.input"].read(1))
    )


def request_body(req) -> bytes:
    """The whole body, or a 413 past MAX_CONTENT_LENGTH however it was sent."""
    body = req.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if _chunked_past_the_limit(req, body):
        raise RequestEntityTooLarge()
    return body


def parse_json(body: bytes):
    """A request body's JSON, or 400."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson also refuses invalid UTF-8, lone surrogates, integers past
        # 64 bits and nesting deeper than 1024 levels.
        raise BadRequest("The request body is not valid JSON.") from None


class Parser(FlaskParser):
    """webargs' Flask parser with the contract's body rules."""

    def load_json(self, req, schema):
        body = request_body(req)
        if not body:
            if getattr(schema, "body_optional", False):
                return {}
            raise BadRequest("The request body is empty; a JSON object was expected.")
        if not is_json_media_type(req.mimetype):
            raise UnsupportedMediaType(
                "The request body must be JSON (Content-Type: application/json)."
            )
        return parse_json(body)
