"""The MCP tools: the REST contract's task operations for AI agents.

Each tool loads its arguments with the REST endpoint's marshmallow schema (its input
JSON schema is derived from that schema, schemas.py) and calls the function the
endpoint calls, so REST and MCP cannot disagree; answers are the REST representation
as structured content, plus one line of text. A REST error is a tool error carrying
the REST error body (its `detail`, and for a 422 the field messages). The user is the
token's: a `user_id` argument must name that user, else nothing is read or changed.
The server that lists and calls them is server.py.
"""

from ..core.errors import error_body
from ..lists import service as list_queries
from ..lists.schemas import ListCreateSchema, ListSchema
from ..quickadd import service as quick
from ..quickadd.schemas import QuickAddSchema
from ..tasks import completion, listing, lookup, ordering
from ..tasks import service as task_queries
from ..tasks.schemas import (
    MoveSchema,
    TaskCreateSchema,
    TaskQuerySchema,
    TaskSchema,
    TaskUpdateSchema,
)

LIST_STATUS = {
    "type": "string",
    "enum": ["all", "pending", "in_progress", "completed"],
    "default": "all",
    "description": "Which tasks: all, or the ones with this status.",
}


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


complete_task = _completion(True, "Completed")
reopen_task = _completion(False, "Reopened")


def delete_task(user, arguments):
    task_id = _task_id(arguments)
    task_queries.soft_delete(user, task_id)
    return f"Deleted task {task_id}", {"deleted": task_id}


def list_lists(user, arguments):
    lists = ListSchema(many=True).dump(list_queries.get_lists(user))
    return f"{len(lists)} list(s)", {"lists": lists}


def move_task(user, arguments):
    task_id = _task_id(arguments)
    fields = MoveSchema().load(arguments)
    task = _dump(ordering.move_task(user, task_id, fields, None))
    return f"Moved task {task['id']}: {task['title']}", {"task": task}


def quick_add(user, arguments):
    loaded = QuickAddSchema().load(arguments)
    # the app's clock, as POST /tasks/quick reads it (quick_add's default)
    task = _dump(quick.quick_add(user, loaded["text"], loaded["timezone"]))
    return f"Created task {task['id']}: {task['title']}", {"task": task}


def add_list(user, arguments):
    made = list_queries.create_list(user, ListCreateSchema().load(arguments))
    found = ListSchema().dump(made)
    return f"Created list {found['id']}: {found['name']}", {"list": found}
