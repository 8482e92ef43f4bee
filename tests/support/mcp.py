"""MCP clients for the tests: the SDK's client session for one user's token,
driven synchronously, and one stateless JSON-RPC request through the app."""

import asyncio

from mcp.client.session import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from tests.support.users import make_token, new_user_id

TOOLS = {
    "add_task", "list_tasks", "get_task", "update_task", "complete_task",
    "reopen_task", "delete_task", "list_lists",
    # the second round's
    "find_tasks", "add_tasks", "update_tasks", "complete_tasks", "delete_tasks",
    "move_task", "quick_add", "add_list", "search", "fetch",
}  # fmt: skip


class Agent:
    """An MCP client session for one user's token, driven synchronously."""

    def __init__(self, url, token):
        self.url, self.token = url, token

    def run(self, script):
        async def go():
            headers = {"Authorization": f"Bearer {self.token}"}
            async with (
                create_mcp_http_client(headers=headers) as http,
                streamable_http_client(f"{self.url}/mcp", http_client=http) as streams,
                ClientSession(streams[0], streams[1]) as session,
            ):
                await session.initialize()
                return await script(session)

        return asyncio.run(go())

    def call(self, tool, /, **arguments):
        return self.run(lambda session: session.call_tool(tool, arguments))


def error_text(result) -> str:
    assert result.is_error, result
    return result.content[0].text


def agent_for(url, name="agent"):
    user_id = new_user_id(name)
    return user_id, Agent(url, make_token(user_id))


def rpc(client, method, params=None, headers=None):
    """One stateless JSON-RPC request to /mcp through the app (no gunicorn)."""
    return client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}},
        headers={"Accept": "application/json, text/event-stream", **(headers or {})},
    )
