"""The MCP tools: the REST contract's task operations for AI agents.

Each tool loads its arguments with the REST endpoint's marshmallow schema (its input
JSON schema is derived from that schema, schemas.py) and calls the function the
endpoint calls, so REST and MCP cannot disagree; answers are the REST representation
as structured content, plus one line of text. A REST error is a tool error carrying
the REST error body (its `detail`, and for a 422 the field messages). The user is the
token's: a `user_id` argument must name that user, else nothing is read or changed.
The server that lists and calls them is server.py.
"""

from collections.abc import Callable
from dataclasses import dataclass

from mcp_types import ToolAnnotations

from ..core.errors import error_body
from ..core.routes import READ as READ_SCOPE
from ..core.routes import WRITE as WRITE_SCOPE
from ..lists import service as list_queries
from ..lists.schemas import ListSchema
from ..tasks import completion, listing, lookup
from ..tasks import service as task_queries
from ..tasks.schemas import (
    TaskCreateSchema,
    TaskQuerySchema,
    TaskSchema,
    TaskUpdateSchema,
)
from .schemas import input_schema

USER_ID = {
    "type": "string",
    "description": "Optional; if given, it must be the signed-in user's id. "
    "Leave it out: the tools act for the user of the token.",
}
TASK_ID = {"type": "string", "format": "uuid", "description": "The task's id."}
LIST_STATUS = {
    "type": "string",
    "enum": ["all", "pending", "in_progress", "completed"],
    "default": "all",
    "description": "Which tasks: all, or the ones with this status.",
}

READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False)
IDEMPOTENT = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=True
)
DESTRUCTIVE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=True, idempotentHint=True
)


class ToolFailure(Exception):
    """A call refused before the REST code ran (its REST-shaped error body)."""

    def __init__(self, body: dict):
        super().__init__(body["detail"])
        self.body = body


def invalid(messages, location="json") -> ToolFailure:
    """A 422 as REST answers it, the messages under the REST request's location."""
    return ToolFailure(error_body(422, "Validation failed", {location: messages}))


def _task_id(arguments: dict) -> str:
    task_id = arguments.pop("task_id", None)
    if not isinstance(task_id, str):
        raise invalid({"task_id": ["Missing data for required field."]})
    return task_id


def _dump(task) -> dict:
    return TaskSchema().dump(task)


# Each tool: (text line, structured content) from the user and its arguments, the
# tool's own ids (task_id) taken out and the rest for the REST schema.


def add_task(user, arguments):
    task = _dump(task_queries.create_task(user, TaskCreateSchema().load(arguments)))
    return f"Created task {task['id']}: {task['title']}", task


def list_tasks(user, arguments):
    status = arguments.pop("status", "all")
    if status not in LIST_STATUS["enum"]:
        choices = ", ".join(LIST_STATUS["enum"])
        raise invalid({"status": [f"Must be one of: {choices}."]}, "query")
    if status != "all":
        arguments["status"] = [status]
    tasks, total = listing.list_tasks(user, TaskQuerySchema().load(arguments))
    dumped = TaskSchema(many=True).dump(tasks)
    return f"{len(dumped)} of {total} task(s)", {"tasks": dumped, "total": total}


def get_task(user, arguments):
    task = _dump(lookup.get_task(user, _task_id(arguments)))
    return f"Task {task['id']}: {task['title']} ({task['status']})", task


def update_task(user, arguments):
    task_id = _task_id(arguments)
    fields = TaskUpdateSchema().load(arguments)
    task = _dump(task_queries.update_task(user, task_id, fields))
    return f"Updated task {task['id']}: {task['title']}", task


def _completion(completed: bool, verb: str):
    def work(user, arguments):
        task = _dump(completion.set_completed(user, _task_id(arguments), completed))
        return f"{verb} task {task['id']}: {task['title']}", task

    return work


def delete_task(user, arguments):
    task_id = _task_id(arguments)
    task_queries.soft_delete(user, task_id)
    return f"Deleted task {task_id}", {"deleted": task_id}


def list_lists(user, arguments):
    lists = ListSchema(many=True).dump(list_queries.get_lists(user))
    return f"{len(lists)} list(s)", {"lists": lists}


@dataclass(frozen=True)
class ToolSpec:
    work: Callable[[str, dict], tuple[str, dict]]
    description: str
    annotations: ToolAnnotations
    schema: Callable[[], dict]  # built in an app context (the converter's spec)
    location: str = "json"  # where REST reads these arguments (for 422 bodies)

    @property
    def scope(self) -> str:
        """What an access token needs for this tool (besides mcp)."""
        return READ_SCOPE if self.annotations.read_only_hint else WRITE_SCOPE


def _ids_only():
    ids = {"task_id": TASK_ID, "user_id": USER_ID}
    return input_schema(extra=ids, required=["task_id"])


TOOLS = {
    "add_task": ToolSpec(
        add_task,
        "Create a task for the signed-in user (as POST /api/tasks). Only title is "
        "required; times are RFC 3339 (no offset means UTC).",
        WRITE,
        lambda: input_schema(TaskCreateSchema(), {"user_id": USER_ID}),
    ),
    "list_tasks": ToolSpec(
        list_tasks,
        "List the signed-in user's tasks, filtered, sorted and paged (as GET "
        "/api/tasks). Answers {tasks, total}.",
        READ,
        lambda: input_schema(
            TaskQuerySchema(), {"status": LIST_STATUS, "user_id": USER_ID}
        ),
        location="query",
    ),
    "get_task": ToolSpec(
        get_task, "One task of the signed-in user, by id.", READ, _ids_only
    ),
    "update_task": ToolSpec(
        update_task,
        "Change the fields given of a task (as PATCH /api/tasks/<id>); a field "
        "sent as null is cleared, one left out is kept.",
        IDEMPOTENT,
        lambda: input_schema(
            TaskUpdateSchema(),
            {"task_id": TASK_ID, "user_id": USER_ID},
            required=["task_id"],
        ),
    ),
    "complete_task": ToolSpec(
        _completion(True, "Completed"),
        "Mark a task completed (a recurring task creates its next occurrence).",
        IDEMPOTENT,
        _ids_only,
    ),
    "reopen_task": ToolSpec(
        _completion(False, "Reopened"),
        "Reopen a completed task: it becomes pending.",
        IDEMPOTENT,
        _ids_only,
    ),
    "delete_task": ToolSpec(
        delete_task,
        "Delete a task and its subtasks (as DELETE /api/tasks/<id>).",
        DESTRUCTIVE,
        _ids_only,
    ),
    "list_lists": ToolSpec(
        list_lists,
        "The signed-in user's lists, oldest first (as GET /api/lists).",
        READ,
        lambda: input_schema(extra={"user_id": USER_ID}),
    ),
}
