"""The tasks blueprint: one user's to-do list.

Every route is served twice: at /api/<user_id>/tasks... (the path must name the
token's user, else 403) and at /api/tasks... (the user comes from the token alone;
see core/routes.py).
"""

from flask import g, request
from flask.views import MethodView

from ..core.etags import conditional_get, etag_of, if_match, tagged
from ..core.pagination import PAGINATION_HEADERS, pagination_headers
from ..core.routes import STRING, UserBlueprint, same_as
from . import completion, idempotency, listing, lookup, ordering
from . import service as task_queries
from .schemas import (
    CompletionSchema,
    IdempotencyKeySchema,
    MoveSchema,
    TaskCreateSchema,
    TaskQuerySchema,
    TaskSchema,
    TaskUpdateSchema,
)

blp = UserBlueprint(
    "tasks",
    __name__,
    description="A user's tasks. Every operation needs `Authorization: Bearer <JWT>`.",
)
route, doc_errors = blp.both_routes, blp.doc_errors


@route("/tasks", "tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema(), location="query")
    @blp.response(200, TaskSchema(many=True), headers=PAGINATION_HEADERS)
    @doc_errors()
    def get(self, query):
        """List the user's tasks: filtered, sorted (newest first) and paginated"""
        tasks, total = listing.list_tasks(g.user_id, query)
        return tasks, pagination_headers(total, query["page"], query["per_page"])

    @blp.arguments(IdempotencyKeySchema(), location="headers")
    @blp.arguments(TaskCreateSchema())
    @blp.response(201, TaskSchema, headers={"Location": STRING, "ETag": STRING})
    @blp.alt_response(409, description="Idempotency-Key reused with another body")
    @doc_errors(400, 413, 415)
    def post(self, headers, fields):
        """Create a task (once per Idempotency-Key, if one is sent)"""
        key = headers.get("idempotency_key")
        return created(idempotency.create(g.user_id, fields, key), request.path)


def created(outcome, collection: str):
    """A create's 201: the task with its Location (under `collection`, the
    path of /tasks) and ETag, or an Idempotency-Key's first answer again."""
    if isinstance(outcome, idempotency.Replay):
        return outcome.response(f"{collection}/{outcome.task_id}")
    return outcome, {"Location": f"{collection}/{outcome.id}", "ETag": etag_of(outcome)}


@route("/tasks/<task_id>", "task")
class TaskById(MethodView):
    @blp.response(200, TaskSchema, headers={"ETag": STRING})
    @blp.alt_response(304, description="Not modified: If-None-Match names the ETag")
    @doc_errors(404)
    def get(self, task_id):
        """Get a task"""
        return conditional_get(lookup.get_task(g.user_id, task_id))

    @blp.arguments(TaskUpdateSchema())
    @blp.response(200, TaskSchema, headers={"ETag": STRING})
    @doc_errors(400, 404, 412, 413, 415)
    def put(self, fields, task_id):
        """Update a task: the fields given are applied, the rest are kept"""
        return tagged(task_queries.update_task(g.user_id, task_id, fields, if_match()))

    patch = same_as(put, "Update a task (same as PUT)")

    @blp.response(204)
    @doc_errors(404, 412)
    def delete(self, task_id):
        """Delete a task (kept as soft-deleted; 404 from then on)"""
        task_queries.soft_delete(g.user_id, task_id, if_match())


@route("/tasks/<task_id>/complete", "task_completion")
class TaskCompletion(MethodView):
    @blp.arguments(CompletionSchema(), required=False)
    @blp.response(200, TaskSchema, headers={"ETag": STRING})
    @doc_errors(400, 404, 412, 413, 415)
    def patch(self, body, task_id):
        """Toggle completion (no body), or set it with {"completed": true|false}"""
        completed = body.get("completed")
        return tagged(
            completion.set_completed(g.user_id, task_id, completed, if_match())
        )


@route("/tasks/<task_id>/move", "task_move")
class TaskMove(MethodView):
    @blp.arguments(MoveSchema())
    @blp.response(200, TaskSchema, headers={"ETag": STRING})
    @doc_errors(400, 404, 412, 413, 415)
    def post(self, body, task_id):
        """Move a task: right after `after`, right before `before`, or last

        Among the siblings of its new place: `list_id` and `parent_id` as given,
        else unchanged."""
        return tagged(ordering.move_task(g.user_id, task_id, body, if_match()))
