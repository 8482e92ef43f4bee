"""The MCP server of the tools (catalogue.py): the SDK's low-level Server, so the
tools carry their own input schemas (made from the REST schemas) and output
schemas, and the arguments reach marshmallow as the agent sent them, an explicit
null included.

A tool call's database work is synchronous: it runs in a thread of a bounded pool,
never on the event loop, which every MCP request of the process shares."""

from functools import partial

import anyio.to_thread
import orjson
from flask import g
from marshmallow import ValidationError
from mcp.server.lowlevel import Server
from mcp_types import CallToolResult, ListToolsResult, TextContent, Tool
from werkzeug.exceptions import HTTPException

from ..core.db import Session
from ..core.errors import (
    DATABASE_UNAVAILABLE,
    database_unavailable,
    error_body,
    http_error,
)
from .catalogue import TOOLS
from .outputs import output_schema
from .tools import ToolFailure, invalid

# The ASGI scope key where views.py puts the verified user: not a header, which
# a client could send and which carries only latin-1.
USER_SCOPE_KEY = "taskapi.verified_user"
# ...and the access token's scopes (None for a sign-in token: every tool)...
TOKEN_SCOPES_KEY = "taskapi.token_scopes"
# ...and the origin the agent called (search and fetch give the tasks' URLs on it).
ORIGIN_KEY = "taskapi.origin"


def allowed(name: str, scopes) -> bool:
    """Whether a token with `scopes` may see and call tool `name`."""
    return scopes is None or TOOLS[name].scope in scopes


def tool_list(app) -> list[Tool]:
    with app.app_context():
        return [
            Tool(
                name=name,
                description=spec.description,
                input_schema=spec.schema(),
                output_schema=output_schema(spec.output),
                annotations=spec.annotations,
            )
            for name, spec in TOOLS.items()
        ]


def _error_result(body: dict) -> CallToolResult:
    # as the REST body is sent: a list item's messages are keyed by its index
    body = orjson.loads(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS))
    text = body["detail"]
    if "index" in body:  # a plural tool's failing item
        text = f"Item {body['index']}: {text}"
    if body.get("errors"):
        text += ": " + orjson.dumps(body["errors"]).decode()
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=body,
        is_error=True,
    )


def call(app, name: str, arguments, verified: str | None, scopes=None, origin=None):
    """Run tool `name` for the verified user, within the access token's
    `scopes`, in the app's context (`origin`: the URL the agent called). The
    thread's session is removed at the end, in the thread that used it."""
    with app.app_context():
        try:
            spec = TOOLS.get(name)
            if spec is None:
                detail = f"No tool {name!r}."
                raise ToolFailure(error_body(404, detail))
            if not verified:
                raise ToolFailure(error_body(401, "Not signed in."))
            if not allowed(name, scopes):
                detail = f"This access token lacks the {spec.scope} scope."
                raise ToolFailure(error_body(403, detail))
            arguments = dict(arguments or {})
            user_id = arguments.pop("user_id", None)
            if user_id is not None and user_id != verified:
                raise ToolFailure(
                    error_body(
                        403,
                        "user_id does not name the signed-in user: an agent acts "
                        "for the user of its token only. Leave it out.",
                    )
                )
            g.user_id, g.origin = verified, origin
            text, structured = spec.work(verified, arguments)
        except ToolFailure as failure:
            return _error_result(failure.body)
        except ValidationError as error:
            return _error_result(invalid(error.messages, spec.location).body)
        except HTTPException as error:
            return _error_result(http_error(error).get_json())
        except DATABASE_UNAVAILABLE as error:
            # /api's 503: an outage, or a statement or lock wait cut short
            return _error_result(database_unavailable(error).get_json())
        finally:
            Session.remove()
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


def build_server(app, stdio_user: str | None = None) -> Server:
    """The tools, acting for the verified user of each HTTP request (the scope
    key views.py sets), or for `stdio_user` (mcp-stdio: the operator's choice)."""
    tools = tool_list(app)
    # As many tool calls at once as gunicorn has threads to wait for them; more
    # wait for a free thread (with the bridge's deadline).
    threads = anyio.CapacityLimiter(app.config["MCP_TOOL_THREADS"])

    def http_scope(ctx) -> dict:
        return getattr(ctx.request, "scope", None) or {}

    async def on_list_tools(ctx, params) -> ListToolsResult:
        scopes = http_scope(ctx).get(TOKEN_SCOPES_KEY)
        return ListToolsResult(
            tools=[tool for tool in tools if allowed(tool.name, scopes)]
        )

    async def on_call_tool(ctx, params) -> CallToolResult:
        verified, scopes, origin = stdio_user, None, None
        if verified is None:
            scope = http_scope(ctx)
            verified, scopes = scope.get(USER_SCOPE_KEY), scope.get(TOKEN_SCOPES_KEY)
            origin = scope.get(ORIGIN_KEY)
        arguments = params.arguments
        work = partial(call, app, params.name, arguments, verified, scopes, origin)
        return await anyio.to_thread.run_sync(work, limiter=threads)

    return Server(
        "taskapi",
        instructions="Manage the signed-in user's tasks. Ids are UUIDs; times are "
        "RFC 3339 and answered in UTC.",
        get_tool_input_schema=lambda name: next(
            (tool.input_schema for tool in tools if tool.name == name), None
        ),
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )
