"""AI agents manage tasks through MCP: the official SDK's own client against the
app under a real gunicorn (and over stdio), with the REST contract's rules."""

import asyncio
import os
import sys

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from tests.helpers import (
    ROOT,
    SECRET,
    LiveServer,
    gunicorn,
    make_token,
    new_user_id,
)

TOOLS = {
    "add_task", "list_tasks", "get_task", "update_task", "complete_task",
    "reopen_task", "delete_task", "list_lists",
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

    def call(self, name, **arguments):
        return self.run(lambda session: session.call_tool(name, arguments))


def error_text(result) -> str:
    assert result.is_error, result
    return result.content[0].text


@pytest.fixture(scope="module")
def mcp_url(live_server):
    return live_server.url


def agent_for(url, name="agent"):
    user_id = new_user_id(name)
    return user_id, Agent(url, make_token(user_id))


def test_the_tools_are_listed_with_their_schemas_and_annotations(mcp_url):
    _, agent = agent_for(mcp_url)
    tools = {tool.name: tool for tool in agent.run(lambda s: s.list_tools()).tools}
    assert set(tools) == TOOLS
    add = tools["add_task"].input_schema
    assert add["required"] == ["title"]
    assert "priority" in add["properties"] and "user_id" in add["properties"]
    status = tools["list_tasks"].input_schema["properties"]["status"]
    assert status["enum"] == ["all", "pending", "in_progress", "completed"]
    for name, tool in tools.items():
        assert tool.description, name
    assert tools["list_tasks"].annotations.read_only_hint is True
    assert tools["delete_task"].annotations.destructive_hint is True
    assert tools["add_task"].annotations.read_only_hint is False


def test_an_agents_conversation(mcp_url, live_server):
    user_id, agent = agent_for(mcp_url)

    async def conversation(session):
        made = []
        for title in ("Buy milk", "Call mum", "Water plants"):
            result = await session.call_tool("add_task", {"title": title})
            assert not result.is_error
            made.append(result.structured_content)
        pending = await session.call_tool("list_tasks", {"status": "pending"})
        done = await session.call_tool("complete_task", {"task_id": made[1]["id"]})
        completed = await session.call_tool("list_tasks", {"status": "completed"})
        deleted = await session.call_tool("delete_task", {"task_id": made[2]["id"]})
        everything = await session.call_tool("list_tasks", {})
        return made, pending, done, completed, deleted, everything

    made, pending, done, completed, deleted, everything = agent.run(conversation)
    assert pending.structured_content["total"] == 3
    assert done.structured_content["status"] == "completed"
    assert done.content[0].text == f"Completed task {made[1]['id']}: Call mum"
    assert [t["title"] for t in completed.structured_content["tasks"]] == ["Call mum"]
    assert not deleted.is_error
    assert sorted(t["title"] for t in everything.structured_content["tasks"]) == [
        "Buy milk",
        "Call mum",
    ]
    # structured content is the REST representation, exactly
    rest = live_server.request(
        "GET",
        f"/api/tasks/{made[0]['id']}",
        headers={"Authorization": f"Bearer {agent.token}"},
    ).get_json()
    assert made[0] == rest
    assert made[0]["user_id"] == user_id


def test_update_reopen_get_and_lists(mcp_url, live_server):
    _, agent = agent_for(mcp_url)
    task = agent.call("add_task", title="Draft", tags=["Work"]).structured_content
    changed = agent.call("update_task", task_id=task["id"], priority="urgent")
    assert changed.structured_content["priority"] == "urgent"
    assert changed.structured_content["tags"] == ["work"]
    agent.call("complete_task", task_id=task["id"])
    reopened = agent.call("reopen_task", task_id=task["id"]).structured_content
    assert reopened["status"] == "pending"
    assert agent.call("get_task", task_id=task["id"]).structured_content == reopened
    assert agent.call("list_lists").structured_content == {"lists": []}


def test_two_users_agents_cannot_see_or_touch_each_others_tasks(mcp_url):
    alice_id, alice = agent_for(mcp_url, "alice")
    bob_id, bob = agent_for(mcp_url, "bob")
    task = alice.call("add_task", title="Alice's").structured_content
    for name, arguments in (
        ("get_task", {"task_id": task["id"]}),
        ("update_task", {"task_id": task["id"], "title": "Bob's now"}),
        ("complete_task", {"task_id": task["id"]}),
        ("delete_task", {"task_id": task["id"]}),
    ):
        assert error_text(bob.call(name, **arguments)).endswith("Task not found.")
        # naming Alice as user_id does not make Bob Alice
        refused = bob.call(name, **arguments, user_id=alice_id)
        assert "does not name the signed-in user" in error_text(refused)
    assert bob.call("list_tasks").structured_content["total"] == 0
    assert "does not name" in error_text(bob.call("list_tasks", user_id=alice_id))
    assert alice.call("get_task", task_id=task["id"]).structured_content == task
    # an agent that sends its own user's id is served
    assert not alice.call("list_tasks", user_id=alice_id).is_error
    assert bob_id != alice_id


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"title": ""}, "Length must be between 1 and 200."),
        ({"title": "x", "due_date": "next week"}, "due_date"),
        ({"title": "x", "tags": ["a" * 51]}, "tags"),
        (
            {"title": "x", "list_id": "00000000-0000-4000-8000-000000000000"},
            "List not found.",
        ),
    ],
)
def test_invalid_arguments_are_tool_errors_with_the_rest_detail(
    mcp_url, arguments, message
):
    _, agent = agent_for(mcp_url)
    assert message in error_text(agent.call("add_task", **arguments))
    assert agent.call("list_tasks").structured_content["total"] == 0


def test_a_missing_bad_or_expired_token_is_401_with_a_bearer_challenge(live_server):
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}'
    expired = make_token("someone", lifetime=-3600)
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {expired}"},
    ):
        response = _post_raw(live_server, body, headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _, agent = agent_for(live_server.url)
    agent.token = expired
    with pytest.raises(BaseExceptionGroup):  # the SDK client raises on the 401
        agent.call("list_tasks")


def _post_raw(live_server, body, headers):
    import http.client

    from tests.helpers import Headers, LiveResponse

    connection = http.client.HTTPConnection(
        live_server.host, live_server.port, timeout=30
    )
    try:
        connection.request(
            "POST",
            "/mcp",
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
        )
        response = connection.getresponse()
        return LiveResponse(
            response.status, Headers(response.getheaders()), response.read()
        )
    finally:
        connection.close()


def test_the_rate_limit_is_shared_with_the_api(app, database_uri, tmp_path):
    """(`app`: the test database, migrated.)"""
    # one worker: its in-process counters are the whole budget
    log = tmp_path / "gunicorn.log"
    with gunicorn(database_uri, log, "--workers=1", API_RATE_LIMIT="12/hour") as port:
        server = LiveServer("127.0.0.1", port)
        _, agent = agent_for(server.url)
        headers = {"Authorization": f"Bearer {agent.token}"}

        def remaining():
            response = server.request("GET", "/api/tasks", headers=headers)
            return response.status_code, response.headers.get("X-RateLimit-Remaining")

        status, before = remaining()
        assert not agent.call("list_tasks").is_error
        status, after = remaining()
        # the agent's requests (initialize, its notification, the call) counted
        assert status == 200 and int(after) <= int(before) - 3
        while status == 200:
            status, _ = remaining()
        assert status == 429
        with pytest.raises(BaseExceptionGroup):  # and MCP is refused too
            agent.call("list_tasks")


def test_the_stdio_server_serves_the_same_tools(database_uri, live_server):
    user_id = new_user_id("local")
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_uri,
        "BETTER_AUTH_SECRET": SECRET,
    }
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "flask", "--app", "wsgi", "mcp-stdio", "--user", user_id],
        env=env,
        cwd=str(ROOT),
    )

    async def go():
        async with (
            stdio_client(parameters) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            names = {t.name for t in (await session.list_tools()).tools}
            made = await session.call_tool("add_task", {"title": "From a local agent"})
            other = await session.call_tool("list_tasks", {"user_id": "someone-else"})
            return names, made, other

    names, made, other = asyncio.run(go())
    assert names == TOOLS
    assert made.structured_content["user_id"] == user_id
    assert other.is_error
    rest = live_server.request(
        "GET",
        f"/api/tasks/{made.structured_content['id']}",
        headers={"Authorization": f"Bearer {make_token(user_id)}"},
    )
    assert rest.get_json() == made.structured_content
