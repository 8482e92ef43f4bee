"""The quick add blueprint: POST /tasks/quick on both route families (see
core/routes.py), a task from one line of text."""

import orjson
from flask import current_app, g, request
from flask.views import MethodView

from ..core.columns import clock_now
from ..core.routes import STRING, UserBlueprint
from ..tasks.schemas import IdempotencyKeySchema, TaskSchema
from ..tasks.views import created
from . import service
from .schemas import QuickAddSchema, QuickPreviewSchema, QuickQuerySchema

blp = UserBlueprint(
    "quickadd",
    __name__,
    description="Quick add: one line of text becomes a task, as people type it.",
)
route, doc_errors = blp.both_routes, blp.doc_errors


@route("/tasks/quick", "quick_add")
class QuickAdd(MethodView):
    @blp.arguments(QuickQuerySchema(), location="query")
    @blp.arguments(IdempotencyKeySchema(), location="headers")
    @blp.arguments(QuickAddSchema())
    @blp.response(201, TaskSchema, headers={"Location": STRING, "ETag": STRING})
    @blp.alt_response(
        200,
        schema=QuickPreviewSchema,
        description="?preview=true: the task that would be created; nothing is",
    )
    @blp.alt_response(409, description="Idempotency-Key reused with another body")
    @doc_errors(400, 413, 415)
    def post(self, query, headers, body):
        """Create a task from a line of text (`?preview=true`: only show it)"""
        if query["preview"]:
            quick = service.read_text(
                g.user_id, body["text"], body["timezone"], clock_now()
            )
            answer = QuickPreviewSchema().dump(quick.preview())
            return current_app.response_class(
                orjson.dumps(answer), status=200, mimetype="application/json"
            )
        outcome = service.quick_add(
            g.user_id, body["text"], body["timezone"], headers.get("idempotency_key")
        )
        return created(outcome, request.path.removesuffix("/quick"))
