"""POST /mcp: the MCP server (the official SDK's streamable HTTP transport,
stateless, JSON answers) behind a Flask view of the `mcp` blueprint.

The view is an ordinary Flask view, so the bearer-token check, the 403 for another
user's path, the rate limit, request ids and JSON logs of /api apply as they are.
It hands the request to the SDK's ASGI app through a2wsgi, with the verified user
in a header it sets itself (a client's own value of it is replaced).
"""

import asyncio
import os
import threading

from a2wsgi import ASGIMiddleware
from flask import Blueprint, Response, current_app, g, request
from mcp.server.transport_security import TransportSecuritySettings

from ..core.errors import error_body
from .server import USER_HEADER, build_server

EXTENSION = "taskapi.mcp"
_ENVIRON_USER = "HTTP_" + USER_HEADER.upper().replace("-", "_")

# A plain Flask blueprint: JSON-RPC is not described by the OpenAPI document. The
# token check and the rate limit apply to it by name (taskapi/__init__.py).
blp = Blueprint("mcp", __name__)


class _Bridge:
    """The SDK app of one process: its event loop thread and session manager
    start on first use after a fork (gunicorn workers do not share threads)."""

    def __init__(self, app):
        self.app = app
        self.pid = None
        self.lock = threading.Lock()
        self.wsgi = None

    def get(self):
        with self.lock:
            if self.pid != os.getpid():
                server = build_server(self.app)
                asgi = server.streamable_http_app(
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
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, daemon=True).start()
                started = threading.Event()

                async def keep_running():
                    async with server.session_manager.run():
                        started.set()
                        await asyncio.Event().wait()

                asyncio.run_coroutine_threadsafe(keep_running(), loop)
                started.wait(10)
                self.wsgi = ASGIMiddleware(asgi, loop=loop)
                self.pid = os.getpid()
            return self.wsgi


def _forward():
    forwarded = dict(request.environ)
    forwarded[_ENVIRON_USER] = g.user_id
    forwarded["PATH_INFO"] = "/mcp"
    forwarded["SCRIPT_NAME"] = ""
    status_headers = {}

    def start_response(status, headers, exc_info=None):
        status_headers["status"] = status
        status_headers["headers"] = headers

    body = b"".join(current_app.extensions[EXTENSION].get()(forwarded, start_response))
    response = Response(body, status=status_headers["status"])
    for name, value in status_headers["headers"]:
        if name.lower() not in ("content-length",):
            response.headers[name] = value
    return response


@blp.route("/mcp", methods=["GET", "POST", "DELETE"])
def mcp():
    """MCP over streamable HTTP (JSON-RPC 2.0), stateless: the SDK answers."""
    return _forward()


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
