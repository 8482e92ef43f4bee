"""The plural tools (add_tasks, update_tasks, complete_tasks, delete_tasks): one
call for what an agent would otherwise do in as many, on POST /tasks/batch's path
(batch/service.py): each item through its REST schema and function, all in one
transaction, all or nothing. A failing item is a tool error carrying its index
and the REST error body; nothing is changed."""

from flask import current_app

from ..batch import service as batch
from ..core.errors import http_error
from ..web import ratelimit
from .arguments import (
    AddTasksArguments,
    CompleteTasksArguments,
    DeleteTasksArguments,
    UpdateTasksArguments,
)
from .tools import ToolFailure


def _run(user: str, operations: list) -> list[dict]:
    ratelimit.charge(len(operations) - 1)  # as the batch: each item counts
    try:
        with batch.one_transaction(current_app):
            return batch.run(user, operations)
    except batch.OperationFailed as failed:
        body = http_error(failed.error).get_json() | {"index": failed.index}
        raise ToolFailure(body) from None


def _tasks(results: list[dict], verb: str):
    tasks = [result["task"] for result in results]
    return f"{verb} {len(tasks)} task(s)", {"tasks": tasks}


def add_tasks(user, arguments):
    items = AddTasksArguments().load(arguments)["tasks"]
    results = _run(user, [{"op": "create", "body": item} for item in items])
    return _tasks(results, "Created")


def update_tasks(user, arguments):
    items = UpdateTasksArguments().load(arguments)["updates"]
    operations = [
        {
            "op": "update",
            "id": item.get("id"),
            "body": {name: value for name, value in item.items() if name != "id"},
        }
        for item in items
    ]
    return _tasks(_run(user, operations), "Updated")


def complete_tasks(user, arguments):
    loaded = CompleteTasksArguments().load(arguments)
    body = {"completed": loaded["completed"]}
    operations = [{"op": "complete", "id": i, "body": body} for i in loaded["ids"]]
    verb = "Completed" if loaded["completed"] else "Reopened"
    return _tasks(_run(user, operations), verb)


def delete_tasks(user, arguments):
    ids = DeleteTasksArguments().load(arguments)["ids"]
    _run(user, [{"op": "delete", "id": task_id} for task_id in ids])
    return f"Deleted {len(ids)} task(s)", {"deleted": ids}
