"""The change feed blueprint: GET /changes, for clients that keep a copy of the
user's tasks and lists in step (both route families: core/routes.py)."""

import marshmallow as ma
from flask import g
from flask.views import MethodView
from marshmallow import fields, validate

from ..core.routes import UserBlueprint
from ..lists.schemas import ListSchema
from ..tasks.schemas import TaskSchema
from . import service as changes

MAX_LIMIT = 500

blp = UserBlueprint(
    "changes",
    __name__,
    description="What changed since a cursor: tasks and lists, with deletions.",
)
route, doc_errors = blp.both_routes, blp.doc_errors


class ChangesQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # unknown query parameters are ignored, as on /tasks

    cursor = fields.String(
        metadata={"description": "The `cursor` of the last answer; none: a first sync."}
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"example": 100},
    )


class ChangesSchema(ma.Schema):
    tasks = fields.List(fields.Nested(TaskSchema))
    deleted_tasks = fields.List(fields.String())
    lists = fields.List(fields.Nested(ListSchema))
    deleted_lists = fields.List(fields.String())
    cursor = fields.String(
        metadata={"description": "Opaque: send it to the next poll."}
    )
    has_more = fields.Boolean(metadata={"description": "More now: poll again at once."})


@route("/changes", "changes")
class Changes(MethodView):
    @blp.arguments(ChangesQuerySchema(), location="query")
    @blp.response(200, ChangesSchema)
    @blp.alt_response(410, description="The cursor is older than what was purged")
    @doc_errors()
    def get(self, query):
        """Tasks and lists created, changed or deleted since the cursor"""
        cursor = changes.FIRST
        if "cursor" in query:
            cursor = changes.decode(g.user_id, query["cursor"])
        return changes.read_page(g.user_id, cursor, query["limit"])._asdict()
