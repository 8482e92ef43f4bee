"""AI agents manage tasks through MCP: the official SDK's own client against the
app under a real gunicorn (and over stdio), with the REST contract's rules."""

import asyncio
import json
import os
import sys
import uuid

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from taskapi.tasks.schemas import TaskCreateSchema, TaskQuerySchema, TaskUpdateSchema
from tests.support.environment import POOLER_SETTINGS, ROOT
from tests.support.mcp import TOOLS, agent_for, error_text, rpc
from tests.support.responses import assert_security_headers
from tests.support.servers import LiveServer, gunicorn
from tests.support.users import SECRET, bearer, make_token, new_user_id


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

    from werkzeug.datastructures import Headers

    from tests.support.servers import LiveResponse

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
    # the app's log lines, /mcp's included, are JSON (gunicorn's own start with "[")
    lines = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if not line.startswith("[")
    ]
    mcp_lines = [line for line in lines if line.get("path") == "/mcp"]
    assert {line["status"] for line in mcp_lines} == {200, 202, 429}
    assert all(line["request_id"] for line in mcp_lines)


def test_the_stdio_server_serves_the_same_tools(database_uri, live_server):
    user_id = new_user_id("local")
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_uri,
        "BETTER_AUTH_SECRET": SECRET,
        **POOLER_SETTINGS,
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


def _loadable(schema) -> set:
    return {name for name, field in schema.fields.items() if not field.dump_only}


def test_the_tools_input_schemas_are_the_rest_schemas(client):
    token = bearer(make_token(new_user_id("schemas")))
    answer = rpc(client, "tools/list", headers=token)
    assert answer.status_code == 200, answer.data
    tools = {tool["name"]: tool for tool in answer.get_json()["result"]["tools"]}
    schema = {name: tool["inputSchema"] for name, tool in tools.items()}
    props = {name: set(s["properties"]) for name, s in schema.items()}
    # every field a REST body or query takes, no more: new fields arrive by themselves
    assert props["add_task"] == _loadable(TaskCreateSchema()) | {"user_id"}
    assert props["update_task"] == _loadable(TaskUpdateSchema()) | {
        "task_id",
        "user_id",
    }
    # list_tasks names its paging; it takes find_tasks's filters, named there
    assert props["list_tasks"] == {"status", "page", "per_page", "user_id"}
    find = _loadable(TaskQuerySchema()) - {"page", "per_page", "search"}
    assert props["find_tasks"] == find | {"limit", "cursor"}
    assert {"recurrence", "reminders"} <= props["add_task"]
    assert schema["update_task"]["required"] == ["task_id"]
    assert schema["add_task"]["additionalProperties"] is False
    # the REST formats, limits and enums, as plain JSON Schema (nothing to resolve)
    add = schema["add_task"]["properties"]
    assert add["priority"]["enum"] == ["low", "medium", "high", "urgent"]
    assert add["tags"]["maxItems"] == 20 and add["reminders"]["maxItems"] == 5
    assert add["due_date"] == {"type": ["string", "null"], "format": "date-time"}
    assert "$ref" not in json.dumps(schema) and "nullable" not in json.dumps(schema)
    assert schema["list_tasks"]["properties"]["per_page"]["maximum"] == 100
    assert schema["add_task"]["properties"]["title"]["maxLength"] == 200


def test_mcp_is_served_on_any_host_with_the_api_headers(client):
    """Not only on localhost (the SDK's own default guard): on the deployed host."""
    token = bearer(make_token(new_user_id("host")))
    for extra in (
        {"Host": "tasks.example.com"},
        {"Host": "tasks.example.com", "Origin": "https://app.example.com"},
        {"X-Request-ID": "agent-call-1"},
    ):
        answer = rpc(client, "tools/list", headers={**token, **extra})
        assert answer.status_code == 200, answer.data
        assert len(answer.get_json()["result"]["tools"]) == len(TOOLS)
        assert_security_headers(answer, api=True)
        assert answer.headers["X-RateLimit-Limit"]
    assert answer.headers["X-Request-ID"] == "agent-call-1"


def test_the_401_names_the_authorization_server_when_one_is_set(client, make_app):
    plain = rpc(client, "tools/list")
    assert plain.status_code == 401
    assert plain.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/.well-known/oauth-protected-resource/mcp").status_code == 404

    signing_in = make_app(
        MCP_AUTHORIZATION_SERVER="https://auth.example.com"
    ).test_client()
    answer = rpc(signing_in, "tools/list", headers=bearer("not-a-token"))
    assert answer.status_code == 401
    metadata_url = "http://localhost/.well-known/oauth-protected-resource/mcp"
    assert answer.headers["WWW-Authenticate"] == (
        f'Bearer error="invalid_token", resource_metadata="{metadata_url}"'
    )
    document = signing_in.get("/.well-known/oauth-protected-resource/mcp")
    assert document.status_code == 200
    assert document.get_json() == {
        "resource": "http://localhost/mcp",
        "authorization_servers": ["https://auth.example.com"],
        "bearer_methods_supported": ["header"],
    }
    # /api's challenge stays as it was
    api = signing_in.get("/api/tasks", headers=bearer("not-a-token"))
    assert "resource_metadata" not in api.headers["WWW-Authenticate"]


def test_recurrence_reminders_and_cleared_fields_through_the_tools(mcp_url):
    _, agent = agent_for(mcp_url, "recur")

    async def story(session):
        made = await session.call_tool(
            "add_task",
            {
                "title": "Stand-up",
                "due_date": "2026-12-07T09:00:00+01:00",
                "recurrence": {"rule": "FREQ=DAILY", "timezone": "Europe/Berlin"},
                "reminders": [{"before": "PT15M"}],
                "description": "daily",
            },
        )
        task = made.structured_content
        done = await session.call_tool("complete_task", {"task_id": task["id"]})
        series = await session.call_tool("list_tasks", {"series_id": task["id"]})
        plain = await session.call_tool(
            "add_task", {"title": "Once", "due_date": "2026-12-07T09:00:00Z"}
        )
        cleared = await session.call_tool(
            "update_task",
            {
                "task_id": plain.structured_content["id"],
                "due_date": None,
                "description": None,
            },
        )
        return task, done, series, cleared

    task, done, series, cleared = agent.run(story)
    assert task["recurrence"]["rule"] == "FREQ=DAILY"
    assert task["reminders"] == [
        {"before": "PT15M", "remind_at": "2026-12-07T07:45:00Z"}
    ]
    assert done.structured_content["next_task_id"] is not None
    assert series.structured_content["total"] == 2
    assert not cleared.is_error, cleared
    assert cleared.structured_content["due_date"] is None


def _same_as_rest(agent, live_server, tool, arguments, method, path, **request):
    """The tool's error is the REST error for the same input, body for body."""
    result = agent.call(tool, **arguments)
    assert result.is_error, result
    rest = live_server.request(
        method, path, headers={"Authorization": f"Bearer {agent.token}"}, **request
    )
    assert rest.status_code == result.structured_content["status"]
    assert result.structured_content == rest.get_json()
    assert result.content[0].text.startswith(rest.get_json()["detail"])


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": 5},
        {"title": "x", "priority": "super"},
        {"title": "x", "tags": ["ok", "a" * 51]},
        {"title": "x", "nonsense": 1},
        {"title": "x", "id": "00000000-0000-4000-8000-000000000000"},
        {"title": "x", "recurrence": {"rule": "FREQ=DAILY"}},
        {"title": "x", "list_id": "00000000-0000-4000-8000-000000000000"},
    ],
)
def test_a_bad_add_task_is_the_rest_error(mcp_url, live_server, body):
    _, agent = agent_for(mcp_url, "bad")
    _same_as_rest(
        agent, live_server, "add_task", body, "POST", "/api/tasks", json_body=body
    )
    assert agent.call("list_tasks").structured_content["total"] == 0


def test_bad_updates_and_queries_are_the_rest_errors(mcp_url, live_server):
    _, agent = agent_for(mcp_url, "bad")
    task = agent.call("add_task", title="Keep me").structured_content
    path = f"/api/tasks/{task['id']}"
    for body in ({"completed": "yes"}, {"title": None}, {"reminders": [{"at": "x"}]}):
        arguments = {"task_id": task["id"], **body}
        _same_as_rest(
            agent, live_server, "update_task", arguments, "PATCH", path, json_body=body
        )
    for query in ({"per_page": 0}, {"sort": "colour"}, {"due_after": "soon"}):
        path = "/api/tasks?" + "&".join(f"{k}={v}" for k, v in query.items())
        _same_as_rest(agent, live_server, "list_tasks", query, "GET", path)
    missing = str(uuid.uuid4())
    for tool in ("get_task", "complete_task", "delete_task"):
        _same_as_rest(
            agent,
            live_server,
            tool,
            {"task_id": missing},
            "GET",
            f"/api/tasks/{missing}",
        )
    assert agent.call("get_task", task_id=task["id"]).structured_content == task


def test_a_browser_agent_on_an_allowed_origin_passes_the_preflight(client):
    response = client.options(
        "/mcp",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, "
            "mcp-protocol-version, mcp-method, mcp-name",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "mcp-protocol-version", "mcp-method", "mcp-name"):
        assert header in allowed
    refused = client.options(
        "/mcp",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert "Access-Control-Allow-Origin" not in refused.headers
