"""The tasks blueprint: one user's to-do list.

Every route is served twice: at /api/<user_id>/tasks... (the path must name the
token's user, else 403) and at /api/tasks... (the user comes from the token alone).
"""

from flask import g, request
from flask.views import MethodView

from . import queries
from .auth import authenticate
from .extensions import Blueprint
from .pagination import PAGINATION_HEADERS, pagination_headers
from .schemas import (
    CompletionSchema,
    TaskCreateSchema,
    TaskQuerySchema,
    TaskSchema,
    TaskUpdateSchema,
)

blp = Blueprint(
    "tasks",
    __name__,
    url_prefix="/api",
    description="A user's tasks. Every operation needs `Authorization: Bearer <JWT>`.",
)
blp.before_request(authenticate)


def route(rule: str, endpoint: str):
    """Route a view at both /api/<user_id><rule> and /api<rule>."""

    def decorator(view):
        blp.route(f"/<user_id>{rule}", endpoint=f"user_{endpoint}")(view)
        return blp.route(rule, endpoint=endpoint)(view)

    return decorator


@route("/tasks", "tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True), headers=PAGINATION_HEADERS)
    def get(self, query):
        """List the user's tasks: filtered, sorted (newest first) and paginated"""
        tasks, total = queries.list_tasks(g.user_id, query)
        return tasks, pagination_headers(total, query["page"], query["per_page"])

    @blp.arguments(TaskCreateSchema)
    @blp.response(201, TaskSchema, headers={"Location": {"schema": {"type": "string"}}})
    def post(self, fields):
        """Create a task"""
        task = queries.create_task(g.user_id, fields)
        return task, {"Location": f"{request.path}/{task.id}"}


@route("/tasks/<task_id>", "task")
class TaskById(MethodView):
    @blp.response(200, TaskSchema)
    def get(self, task_id):
        """Get a task"""
        return queries.get_task(g.user_id, task_id)

    @blp.arguments(TaskUpdateSchema)
    @blp.response(200, TaskSchema)
    def put(self, fields, task_id):
        """Update a task: the fields given are applied, the rest are kept"""
        return queries.update_task(queries.get_task(g.user_id, task_id), fields)

    @blp.arguments(TaskUpdateSchema)
    @blp.response(200, TaskSchema)
    def patch(self, fields, task_id):
        """Update a task (same as PUT)"""
        return queries.update_task(queries.get_task(g.user_id, task_id), fields)

    @blp.response(204)
    def delete(self, task_id):
        """Delete a task (kept as soft-deleted; 404 from then on)"""
        queries.soft_delete(g.user_id, task_id)


@route("/tasks/<task_id>/complete", "task_completion")
class TaskCompletion(MethodView):
    @blp.arguments(CompletionSchema)
    @blp.response(200, TaskSchema)
    def patch(self, body, task_id):
        """Toggle completion (no body), or set it with {"completed": true|false}"""
        return queries.set_completed(g.user_id, task_id, body.get("completed"))
