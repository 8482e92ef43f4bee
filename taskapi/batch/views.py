"""The batch blueprint: POST /tasks/batch (both route families: core/routes.py)."""

import marshmallow as ma
from flask import current_app, g
from flask.views import MethodView
from marshmallow import fields, validate

from ..core.errors import http_error
from ..core.routes import UserBlueprint
from ..tasks.schemas import IdempotencyKeySchema
from ..web import ratelimit
from . import service as batch

blp = UserBlueprint(
    "batch",
    __name__,
    description="Several task operations in one request: all of them, or none.",
)
route, doc_errors = blp.both_routes, blp.doc_errors


class BatchSchema(ma.Schema):
    operations = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(1, batch.MAX_OPERATIONS),
        metadata={
            "description": 'Each {"op": "create"|"update"|"complete"|"delete"|"move", '
            '"ref"?, "id"?, "body"?, "if_match"?}; "ref:<name>" names a task '
            "created earlier in the batch."
        },
    )


class BatchResultsSchema(ma.Schema):
    results = fields.List(fields.Dict())


@route("/tasks/batch", "tasks_batch")
class Batch(MethodView):
    @blp.arguments(IdempotencyKeySchema(), location="headers")
    @blp.arguments(BatchSchema())
    @blp.response(200, BatchResultsSchema)
    @blp.alt_response(409, description="Idempotency-Key reused with another body")
    @doc_errors(400, 404, 412, 413, 415, 429)
    def post(self, headers, body):
        """Run task operations in order, in one transaction: all, or none"""
        operations = body["operations"]
        ratelimit.charge(len(operations) - 1)  # the request itself counted one
        try:
            answer = batch.run_once(
                current_app, g.user_id, operations, headers.get("idempotency_key")
            )
        except batch.OperationFailed as failed:
            response = http_error(failed.error)  # with the error's own headers
            payload = response.get_json()
            payload["operation"] = failed.index
            response.set_data(current_app.json.dumps(payload))
            return response
        return current_app.response_class(answer, mimetype="application/json")
