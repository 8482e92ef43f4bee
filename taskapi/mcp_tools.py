"""The MCP tools: the REST contract's task operations for AI agents.

Each tool loads its arguments with the REST endpoint's marshmallow schema and calls
the function the endpoint calls, so REST and MCP cannot disagree; answers are the
REST representation as structured content, plus one line of text. A REST error is a
tool error carrying its `detail` (and, for a 422, the field messages). The user is
the token's: a `user_id` argument must name that user, else nothing is done.
"""

from typing import Annotated, Any, Literal

from flask import g
from marshmallow import ValidationError
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from werkzeug.exceptions import HTTPException

from . import completion, list_queries, listing, scope, task_queries
from .db import Session
from .schemas import (
    ListSchema,
    TaskCreateSchema,
    TaskQuerySchema,
    TaskSchema,
    TaskUpdateSchema,
)

USER_HEADER = "X-Taskapi-Verified-User"  # set by mcp_bridge / mcp-stdio, not clients

UserId = Annotated[
    str | None,
    Field(description="Optional; if given, it must be the signed-in user's id."),
]
TaskId = Annotated[str, Field(description="The task's id (a UUID).")]
Title = Annotated[str, Field(description="1-200 characters, trimmed.")]
Description = Annotated[
    str | None, Field(description="Up to 2000 characters; null leaves it as it is.")
]
Priority = Annotated[
    Literal["low", "medium", "high", "urgent"] | None,
    Field(description="low, medium (the default), high or urgent."),
]
DueDate = Annotated[
    str | None,
    Field(description="RFC 3339, e.g. 2026-12-01T09:00:00+01:00; no offset means UTC."),
]
Tags = Annotated[
    list[str] | None,
    Field(description="Up to 20 tags of 1-50 characters; stored lower-cased."),
]
Status = Annotated[
    Literal["pending", "in_progress", "completed"] | None,
    Field(description="pending, in_progress or completed."),
]
ListId = Annotated[str | None, Field(description="One of the user's lists (its id).")]
ParentId = Annotated[
    str | None, Field(description="A top-level task of the user: makes this a subtask.")
]

READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False)
IDEMPOTENT = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=True
)
DESTRUCTIVE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=True, idempotentHint=True
)


def _given(**arguments) -> dict:
    return {name: value for name, value in arguments.items() if value is not None}


def _error_text(error: HTTPException) -> str:
    data = getattr(error, "data", None) or {}
    if error.code == 422:
        return f"Validation failed: {data.get('errors') or data.get('messages')}"
    return data.get("message") or error.description or error.name


def build_server(app, stdio_user: str | None = None) -> MCPServer:
    """The tools, acting for the verified user of each HTTP request, or for
    `stdio_user` (mcp-stdio, where the one user is the operator's choice)."""
    server = MCPServer(
        name="taskapi",
        instructions="Manage the signed-in user's tasks. Ids are UUIDs; times are "
        "RFC 3339 and answered in UTC.",
    )

    def act(ctx: Context | None, user_id: str | None, work) -> CallToolResult:
        """Run `work()` as the verified user, in the app's context."""
        verified = stdio_user or _verified_user(ctx)
        if user_id is not None and user_id != verified:
            raise ToolError(
                "user_id does not name the signed-in user: an agent acts for the "
                "user of its token only. Leave user_id out."
            )
        with app.app_context():
            g.user_id = verified
            try:
                text, structured = work(verified)
            except HTTPException as error:
                raise ToolError(_error_text(error)) from None
            except ValidationError as error:
                raise ToolError(f"Validation failed: {error.messages}") from None
            finally:
                Session.remove()
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=structured,
        )

    def one(task) -> dict:
        return TaskSchema().dump(task)

    @server.tool(annotations=WRITE, structured_output=True)
    def add_task(
        title: Title,
        description: Description = None,
        priority: Priority = None,
        due_date: DueDate = None,
        tags: Tags = None,
        status: Status = None,
        list_id: ListId = None,
        parent_id: ParentId = None,
        user_id: UserId = None,
        ctx: Context = None,
    ) -> CallToolResult:
        """Create a task for the signed-in user (POST /api/tasks)."""
        body = _given(
            title=title, description=description, priority=priority,
            due_date=due_date, tags=tags, status=status, list_id=list_id,
            parent_id=parent_id,
        )  # fmt: skip

        def work(user):
            task = one(task_queries.create_task(user, TaskCreateSchema().load(body)))
            return f"Created task {task['id']}: {task['title']}", task

        return act(ctx, user_id, work)

    @server.tool(annotations=READ, structured_output=True)
    def list_tasks(
        status: Annotated[
            Literal["all", "pending", "in_progress", "completed"],
            Field(description="Which tasks: all (default), or one status."),
        ] = "all",
        list_id: Annotated[
            str | None, Field(description="A list's id, or none: tasks in no list.")
        ] = None,
        parent_id: Annotated[
            str | None, Field(description="A task's id (its subtasks), or none.")
        ] = None,
        q: Annotated[
            str | None, Field(description="Substring of title or description.")
        ] = None,
        tag: Annotated[
            list[str] | None, Field(description="Tasks carrying every tag given.")
        ] = None,
        due_after: Annotated[
            str | None, Field(description="RFC 3339, inclusive.")
        ] = None,
        due_before: Annotated[
            str | None, Field(description="RFC 3339, exclusive.")
        ] = None,
        sort: Annotated[
            str | None,
            Field(
                description="created_at, updated_at, due_date, priority, title or "
                "position; a leading - means descending (default -created_at)."
            ),
        ] = None,
        page: Annotated[int | None, Field(description="1 or more.")] = None,
        per_page: Annotated[int | None, Field(description="1-100, default 50.")] = None,
        user_id: UserId = None,
        ctx: Context = None,
    ) -> CallToolResult:
        """List the signed-in user's tasks, filtered and sorted (GET /api/tasks)."""
        query = _given(
            list_id=list_id, parent_id=parent_id, q=q, tag=tag, due_after=due_after,
            due_before=due_before, sort=sort, page=page, per_page=per_page,
        )  # fmt: skip
        if status != "all":
            query["status"] = [status]

        def work(user):
            tasks, total = listing.list_tasks(user, TaskQuerySchema().load(query))
            dumped = TaskSchema(many=True).dump(tasks)
            return f"{len(dumped)} of {total} task(s)", {
                "tasks": dumped,
                "total": total,
            }

        return act(ctx, user_id, work)

    @server.tool(annotations=READ, structured_output=True)
    def get_task(
        task_id: TaskId, user_id: UserId = None, ctx: Context = None
    ) -> CallToolResult:
        """One task of the signed-in user (GET /api/tasks/<id>)."""

        def work(user):
            task = one(scope.get_task(user, task_id))
            return f"Task {task['id']}: {task['title']} ({task['status']})", task

        return act(ctx, user_id, work)

    @server.tool(annotations=IDEMPOTENT, structured_output=True)
    def update_task(
        task_id: TaskId,
        title: Annotated[str | None, Field(description="1-200 characters.")] = None,
        description: Description = None,
        priority: Priority = None,
        due_date: DueDate = None,
        tags: Tags = None,
        status: Status = None,
        list_id: ListId = None,
        parent_id: ParentId = None,
        user_id: UserId = None,
        ctx: Context = None,
    ) -> CallToolResult:
        """Change the fields given of a task (PATCH /api/tasks/<id>)."""
        body = _given(
            title=title, description=description, priority=priority,
            due_date=due_date, tags=tags, status=status, list_id=list_id,
            parent_id=parent_id,
        )  # fmt: skip

        def work(user):
            fields = TaskUpdateSchema().load(body)
            task = one(task_queries.update_task(user, task_id, fields))
            return f"Updated task {task['id']}: {task['title']}", task

        return act(ctx, user_id, work)

    def _set(task_id, completed, user_id, ctx, verb):
        def work(user):
            task = one(completion.set_completed(user, task_id, completed))
            return f"{verb} task {task['id']}: {task['title']}", task

        return act(ctx, user_id, work)

    @server.tool(annotations=IDEMPOTENT, structured_output=True)
    def complete_task(
        task_id: TaskId, user_id: UserId = None, ctx: Context = None
    ) -> CallToolResult:
        """Mark a task completed (a recurring one creates its next occurrence)."""
        return _set(task_id, True, user_id, ctx, "Completed")

    @server.tool(annotations=IDEMPOTENT, structured_output=True)
    def reopen_task(
        task_id: TaskId, user_id: UserId = None, ctx: Context = None
    ) -> CallToolResult:
        """Reopen a completed task (it becomes pending)."""
        return _set(task_id, False, user_id, ctx, "Reopened")

    @server.tool(annotations=DESTRUCTIVE, structured_output=True)
    def delete_task(
        task_id: TaskId, user_id: UserId = None, ctx: Context = None
    ) -> CallToolResult:
        """Delete a task and its subtasks (DELETE /api/tasks/<id>)."""

        def work(user):
            task_queries.soft_delete(user, task_id)
            return f"Deleted task {task_id}", {"deleted": task_id}

        return act(ctx, user_id, work)

    @server.tool(annotations=READ, structured_output=True)
    def list_lists(user_id: UserId = None, ctx: Context = None) -> CallToolResult:
        """The signed-in user's lists, oldest first (GET /api/lists)."""

        def work(user):
            lists = ListSchema(many=True).dump(list_queries.get_lists(user))
            return f"{len(lists)} list(s)", {"lists": lists}

        return act(ctx, user_id, work)

    return server


def _verified_user(ctx: Context) -> str:
    headers = ctx.headers or {}
    user = headers.get(USER_HEADER) or headers.get(USER_HEADER.lower())
    if not user:
        raise ToolError("Not signed in.")
    return user


__all__: list[Any] = ["USER_HEADER", "build_server"]
