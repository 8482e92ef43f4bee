"""The portability blueprint: GET /export (the user's document, streamed) and
POST /import (such a document, or an iCalendar file of VTODOs), both route
families as tasks are (core/routes.py)."""

import orjson
from flask import current_app, g, request, stream_with_context
from flask.views import MethodView
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from ..core.columns import utcnow
from ..core.errors import unprocessable
from ..core.jsonio import body_limit, is_json_media_type, parse_json, request_body
from ..core.routes import READ, WRITE, UserBlueprint, needs_scope
from ..tasks.idempotency import Replay
from ..tasks.schemas import IdempotencyKeySchema
from ..web.ratelimit import check_import_budget
from . import document, importer, vtodo
from . import service as export
from .schemas import ImportedSchema

blp = UserBlueprint(
    "portability",
    __name__,
    description="Your data: export it all as one JSON document, import such a "
    "document or an iCalendar file of VTODOs.",
)
route, doc_errors = blp.both_routes, blp.doc_errors

MAX_IMPORT_BYTES = 10 * 1024 * 1024
CALENDAR = "text/calendar"


@route("/export", "export")
class Export(MethodView):
    @needs_scope(READ)
    @blp.response(
        200,
        description="The export document (docs/your-data.md, "
        "taskapi/portability/export.schema.json), as an attachment",
    )
    @doc_errors()
    def get(self):
        """Export everything the user owns: lists, tasks, webhooks (no secrets)"""
        user_id, now = g.user_id, utcnow()
        lists, webhooks = export.owned_lists(user_id), export.webhooks(user_id)
        pieces = document.pieces(
            user_id, now, lists, export.task_pages(user_id), webhooks
        )
        filename = f"taskapi-export-{now:%Y-%m-%d}.json"
        return current_app.response_class(
            stream_with_context(pieces),
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


IMPORT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "An export document (format taskapi, version 1)",
            }
        },
        CALENDAR: {"schema": {"type": "string", "description": "VTODOs"}},
    },
}


@route("/import", "import")
class Import(MethodView):
    @needs_scope(WRITE)
    @body_limit(MAX_IMPORT_BYTES)
    @blp.arguments(IdempotencyKeySchema(), location="headers")
    @blp.doc(requestBody=IMPORT_BODY)
    @blp.response(200, ImportedSchema)
    @blp.alt_response(409, description="Past a per-user limit, or Idempotency-Key "
                      "reused with another body")  # fmt: skip
    @doc_errors(400, 413, 415, 429)
    def post(self, headers):
        """Import a document or iCalendar VTODOs: all or nothing, with new ids"""
        check_import_budget(g.user_id)
        found, labels = _document(request_body(request))
        outcome = importer.import_document(
            g.user_id, found, headers.get("idempotency_key"), labels
        )
        if isinstance(outcome, Replay):
            return orjson.loads(outcome.body)
        return outcome


def _document(body: bytes) -> tuple[dict, list | None]:
    """The body as an import document (a JSON one, or a calendar's tasks)."""
    if not body:
        raise BadRequest("The request body is empty: send a document or a calendar.")
    if request.mimetype == CALENDAR:
        return vtodo.document(body)
    if not is_json_media_type(request.mimetype):
        raise UnsupportedMediaType(
            f"Send application/json (an export document) or {CALENDAR} (VTODOs)."
        )
    found = parse_json(body)
    if not isinstance(found, dict):
        raise unprocessable({"_schema": ["An export document is a JSON object."]})
    return found, None
