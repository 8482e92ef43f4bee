"""The tools an agent sees: each one's work (tools.py, plural.py, finding.py),
description, annotations, input schema (schemas.py, from the REST schemas) and
output schema (outputs.py). server.py lists and calls them."""

from collections.abc import Callable
from dataclasses import dataclass

from mcp_types import ToolAnnotations

from ..core.routes import READ as READ_SCOPE
from ..core.routes import WRITE as WRITE_SCOPE
from ..lists.schemas import ListCreateSchema
from ..quickadd.schemas import QuickAddSchema
from ..tasks.schemas import (
    MoveSchema,
    TaskCreateSchema,
    TaskQuerySchema,
    TaskUpdateSchema,
)
from . import finding, outputs, plural, tools
from .arguments import (
    AddTasksArguments,
    CompleteTasksArguments,
    DeleteTasksArguments,
    FetchArguments,
    FindTasksArguments,
    SearchArguments,
    UpdateTasksArguments,
)
from .schemas import input_schema
from .tools import LIST_STATUS


@dataclass(frozen=True)
class ToolSpec:
    work: Callable[[str, dict], tuple[str, dict]]
    description: str
    annotations: ToolAnnotations
    schema: Callable[[], dict]  # built in an app context (the converter's spec)
    output: type  # outputs.py: the structured content's type
    location: str = "json"  # where REST reads these arguments (for 422 bodies)

    @property
    def scope(self) -> str:
        """What an access token needs for this tool (besides mcp)."""
        return READ_SCOPE if self.annotations.read_only_hint else WRITE_SCOPE


# Every tool acts on this server's data only: openWorldHint false.
READ = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)
WRITE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
)
IDEMPOTENT = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
)
DESTRUCTIVE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False
)

TASK_ID = {"type": "string", "format": "uuid"}
# Agents written for /api/{user_id}/... send a user_id, so every tool takes one
# (server.py checks it names the token's user); the tools such agents call list
# it, the others take it unlisted, sparing the model's context.
USER_ID = {
    "type": "string",
    "description": "Omit.",
}
ME = {"user_id": USER_ID}


def _ids_only():
    return input_schema(extra={"task_id": TASK_ID, **ME}, required=["task_id"])


def _of_items(arguments, name: str, item: dict) -> dict:
    """A plural tool's schema: `arguments`'s, its list `name` of `item`s."""
    out = input_schema(arguments)
    # `item` names some of the fields; the REST schema loads (or refuses) the rest
    item.pop("additionalProperties", None)
    out["properties"][name]["items"] = item
    return out


def _task_fields(schema) -> dict:
    # The fields agents set most; the REST schema loads the others too
    # (recurrence, reminders, assignee_id), as add_task/update_task list them.
    fields = ("title", "description", "due_date", "priority", "tags", "list_id")
    return input_schema(schema.__class__(only=fields))


def _short_sort(out: dict) -> dict:
    """`sort`'s twelve values as one pattern (the same values, fewer bytes)."""
    sort = out["properties"]["sort"]
    keys = "|".join(value for value in sort.pop("enum") if value[0] != "-")
    sort["pattern"] = f"^-?({keys})$"
    return out


def _find_schema():
    query = TaskQuerySchema()
    out = input_schema(query, drop=set(query.fields) - finding.FIND_FIELDS)
    out["properties"].update(input_schema(FindTasksArguments())["properties"])
    for name in ("list_id", "parent_id"):  # an id or `none`, as described
        out["properties"][name].pop("pattern")
    return _short_sort(out)


def _list_schema():
    # The listing's other filters are taken too; find_tasks's schema names them.
    keep = {"page", "per_page"}
    drop = set(TaskQuerySchema().fields) - keep
    return input_schema(TaskQuerySchema(), {"status": LIST_STATUS, **ME}, drop=drop)


def _updates_schema():
    item = _task_fields(TaskUpdateSchema())
    item["properties"] = {"id": TASK_ID, **item["properties"]}
    item["required"] = ["id"]
    return _of_items(UpdateTasksArguments(), "updates", item)


TOOLS = {
    "add_task": ToolSpec(
        tools.add_task,
        "Create a task. Only title is required; times are RFC 3339 (UTC without "
        "an offset).",
        WRITE,
        lambda: input_schema(TaskCreateSchema(), ME),
        outputs.Task,
    ),
    "add_tasks": ToolSpec(
        plural.add_tasks,
        "Create 1-25 tasks at once, all or none; each item takes add_task's fields.",
        WRITE,
        lambda: _of_items(
            AddTasksArguments(), "tasks", _task_fields(TaskCreateSchema())
        ),
        outputs.Tasks,
    ),
    "quick_add": ToolSpec(
        tools.quick_add,
        "Create a task from a line as typed, e.g. 'Pay rent monthly on the 1st "
        "p1 #home @bills'.",
        WRITE,
        lambda: input_schema(QuickAddSchema()),
        outputs.OneTask,
    ),
    "find_tasks": ToolSpec(
        finding.find_tasks,
        "Find tasks by filters and text (q), newest first unless sorted; pass "
        "next_cursor back for the next page.",
        READ,
        _find_schema,
        outputs.FoundTasks,
        location="query",
    ),
    "list_tasks": ToolSpec(
        tools.list_tasks,
        "Tasks by status, a numbered page and the total; takes find_tasks's "
        "filters too.",
        READ,
        _list_schema,
        outputs.TaskPage,
        location="query",
    ),
    "get_task": ToolSpec(
        tools.get_task, "One task, by id.", READ, _ids_only, outputs.Task
    ),
    "search": ToolSpec(
        finding.search,
        "Search tasks by words in their title or description; fetch a result by "
        "its id.",
        READ,
        lambda: input_schema(SearchArguments()),
        outputs.SearchResults,
    ),
    "fetch": ToolSpec(
        finding.fetch,
        "A task as a document, by an id from search.",
        READ,
        lambda: input_schema(FetchArguments()),
        outputs.Document,
    ),
    "update_task": ToolSpec(
        tools.update_task,
        "Change the fields given of a task; null clears a field.",
        IDEMPOTENT,
        lambda: input_schema(
            TaskUpdateSchema(), {"task_id": TASK_ID, **ME}, required=["task_id"]
        ),
        outputs.Task,
    ),
    "update_tasks": ToolSpec(
        plural.update_tasks,
        "Change 1-25 tasks at once, all or none; each item: an id and "
        "update_task's fields.",
        IDEMPOTENT,
        _updates_schema,
        outputs.Tasks,
    ),
    "move_task": ToolSpec(
        tools.move_task,
        "Put a task after or before a sibling (else last), in another list or "
        "parent if given.",
        IDEMPOTENT,
        lambda: input_schema(MoveSchema(), {"task_id": TASK_ID}, required=["task_id"]),
        outputs.OneTask,
    ),
    "complete_task": ToolSpec(
        tools.complete_task,
        "Complete a task (a recurring one gets its next occurrence).",
        IDEMPOTENT,
        _ids_only,
        outputs.Task,
    ),
    "reopen_task": ToolSpec(
        tools.reopen_task,
        "Reopen a completed task.",
        IDEMPOTENT,
        _ids_only,
        outputs.Task,
    ),
    "complete_tasks": ToolSpec(
        plural.complete_tasks,
        "Complete (or, completed false, reopen) 1-25 tasks at once, all or none.",
        IDEMPOTENT,
        lambda: input_schema(CompleteTasksArguments()),
        outputs.Tasks,
    ),
    "delete_task": ToolSpec(
        tools.delete_task,
        "Delete a task and its subtasks.",
        DESTRUCTIVE,
        _ids_only,
        outputs.Deleted,
    ),
    "delete_tasks": ToolSpec(
        plural.delete_tasks,
        "Delete 1-25 tasks and their subtasks at once, all or none.",
        DESTRUCTIVE,
        lambda: input_schema(DeleteTasksArguments()),
        outputs.DeletedMany,
    ),
    "list_lists": ToolSpec(
        tools.list_lists,
        "The user's lists, own and shared.",
        READ,
        lambda: input_schema(extra=ME),
        outputs.Lists,
    ),
    "add_list": ToolSpec(
        tools.add_list,
        "Create a list (its name unique, ignoring case).",
        WRITE,
        lambda: input_schema(ListCreateSchema()),
        outputs.OneList,
    ),
}
