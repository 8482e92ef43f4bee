"""flask mcp-stdio: the MCP tools over stdio, for a local agent."""

import click
from flask.cli import with_appcontext

from ..core.users import user_id_argument


@click.command("mcp-stdio")
@click.option(
    "--user",
    "user_id",
    required=True,
    callback=user_id_argument,
    help="The user the tools act for.",
)
@with_appcontext
def mcp_stdio(user_id):
    """Serve the MCP tools over stdio for a local agent, acting for --user."""
    import anyio
    from flask import current_app
    from mcp.server.stdio import stdio_server

    from .server import build_server

    app = current_app._get_current_object()
    server = build_server(app, stdio_user=user_id)

    async def serve():
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)


COMMANDS = (mcp_stdio,)
