"""POST /mcp: the MCP server (the official SDK's streamable HTTP transport,
stateless, JSON answers) behind a Flask view of the `mcp` blueprint.

The view is an ordinary Flask view, so the bearer-token check, the 403 for another
user's path, the rate limit, the body limit, request ids and JSON logs of /api
apply as they are. It reads the body as /api does (413 past MAX_CONTENT_LENGTH),
then hands the request to the SDK's ASGI app on the process's event loop, with the
verified user in the ASGI scope (server.USER_SCOPE_KEY), and waits for the
whole answer at most MCP_REPLY_SECONDS.
"""

import asyncio
import concurrent.futures
import os
import threading

from flask import Blueprint, Response, current_app, g, request
from mcp.server.transport_security import TransportSecuritySettings

from ..core.errors import error_body, error_response
from ..core.jsonio import request_body
from ..core.routes import MCP, needs_scope
from .server import ORIGIN_KEY, TOKEN_SCOPES_KEY, USER_SCOPE_KEY, build_server

EXTENSION = "taskapi.mcp"

# A plain Flask blueprint: JSON-RPC is not described by the OpenAPI document. The
# token check and the rate limit apply to it by name (taskapi/__init__.py). An
# access token needs the mcp scope (and its tools tasks:read or tasks:write).
blp = needs_scope(MCP)(Blueprint("mcp", __name__))


class _Bridge:
    """The SDK app of one process: its event loop thread and session manager
    start on first use after a fork (gunicorn workers do not share threads)."""

    def __init__(self, app):
        self.app = app
        self.pid = None
        self.lock = threading.Lock()
        self.asgi = None
        self.loop = None

    def get(self):
        with self.lock:
            if self.pid != os.getpid():
                server = build_server(self.app)
                self.asgi = server.streamable_http_app(
                    stateless_http=True,
                    json_response=True,
                    streamable_http_path="/mcp",
                    # The SDK's default guard admits only a localhost Host and
                    # Origin (421 otherwise, i.e. on every deployed host). A
                    # bearer token is required here, which a rebinding page does
                    # not have, and Origins are the CORS policy of /api.
                    transport_security=TransportSecuritySettings(
                        enable_dns_rebinding_protection=False
                    ),
                )
                self.loop = asyncio.new_event_loop()
                threading.Thread(target=self.loop.run_forever, daemon=True).start()
                started = threading.Event()

                async def keep_running():
                    async with server.session_manager.run():
                        started.set()
                        await asyncio.Event().wait()

                asyncio.run_coroutine_threadsafe(keep_running(), self.loop)
                started.wait(10)
                self.pid = os.getpid()
            return self.asgi, self.loop


async def _exchange(asgi, scope: dict, body: bytes) -> tuple[int, list, bytes]:
    """One request, its body read whole, through the ASGI app: its status,
    headers and body."""
    reply = {"body": []}
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # no more input: wait to be cancelled

    async def send(message):
        if message["type"] == "http.response.start":
            reply["status"], reply["headers"] = message["status"], message["headers"]
        elif message["type"] == "http.response.body":
            reply["body"].append(message.get("body", b""))

    await asgi(scope, receive, send)
    return reply["status"], reply["headers"], b"".join(reply["body"])


def _scope(body: bytes) -> dict:
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.items()
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": request.scheme,
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": request.query_string,
        "root_path": "",
        "headers": headers,
        "server": request.server,
        "client": (request.remote_addr or "", 0),
        USER_SCOPE_KEY: g.user_id,
        TOKEN_SCOPES_KEY: g.get("token_scopes"),
        ORIGIN_KEY: request.host_url,
    }


@blp.route("/mcp", methods=["POST"])
def mcp():
    """MCP over streamable HTTP (JSON-RPC 2.0), stateless: the SDK answers."""
    body = request_body(request)  # /api's limit: 413 past MAX_CONTENT_LENGTH
    asgi, loop = current_app.extensions[EXTENSION].get()
    future = asyncio.run_coroutine_threadsafe(_exchange(asgi, _scope(body), body), loop)
    seconds = current_app.config["MCP_REPLY_SECONDS"]
    try:
        status, headers, content = future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        # Never a thread held for ever; the tool call itself may still finish.
        future.cancel()
        return error_response(
            504,
            f"The MCP server did not answer within {seconds:g} s; the call may "
            "still complete. Check before repeating one that is not idempotent.",
        )
    response = Response(content, status=status)
    for name, value in headers:
        if name.lower() != b"content-length":
            response.headers[name.decode("latin-1")] = value.decode("latin-1")
    return response


def protected_resource_metadata():
    """RFC 9728: this resource, and the authorization server whose tokens it takes."""
    server = current_app.config.get("MCP_AUTHORIZATION_SERVER")
    if not server:
        body = error_body(404, "No authorization server is configured.")
        return current_app.json.response(body), 404
    return current_app.json.response(
        {
            "resource": f"{request.host_url}mcp",
            "authorization_servers": [server],
            "bearer_methods_supported": ["header"],
        }
    )


def init_app(app) -> None:
    app.extensions[EXTENSION] = _Bridge(app)
    app.add_url_rule(
        "/.well-known/oauth-protected-resource/mcp",
        "mcp_resource_metadata",
        protected_resource_metadata,
    )
