"""Agents on any MCP client: the official Python SDK client and the official
TypeScript SDK client (under Node) hold the same conversation with an access
token against a real gunicorn: list the tools and check their schemas, add three
tasks in one call, find them page by page, complete two in one call, search and
fetch one, quick-add one, delete one; then the token is revoked and the next
request is an HTTP 401, never a tool result."""

import asyncio
import json
import os
import subprocess
from pathlib import Path

import jsonschema
from mcp.client.session import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.support.tokens import INVALID, SignedIn

TSCLIENT = Path(__file__).parent / "tsclient"
Validator = jsonschema.Draft202012Validator


def _step(name, arguments, result) -> dict:
    return {
        "tool": name,
        "arguments": arguments,
        "isError": bool(result.is_error),
        "structuredContent": result.structured_content,
        "text": "\n".join(item.text for item in result.content),
    }


def python_conversation(url: str, owner: SignedIn, token: dict) -> dict:
    """The conversation through the Python SDK's client, as conversation.mjs
    holds it: the same transcript."""
    transcript = {"client": "python", "steps": []}
    answers = []  # every HTTP answer of /mcp: its status and challenge

    async def record(response):
        answers.append(
            {
                "status": response.status_code,
                "www_authenticate": response.headers.get("WWW-Authenticate"),
            }
        )

    async def go():
        headers = {"Authorization": f"Bearer {token['token']}"}
        http = create_mcp_http_client(headers=headers)
        http.event_hooks = {"response": [record]}
        async with (
            http,
            streamable_http_client(f"{url}/mcp", http_client=http) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            tools = (await session.list_tools()).tools
            transcript["tools"] = [
                tool.model_dump(by_alias=True, exclude_none=True, mode="json")
                for tool in tools
            ]

            async def call(name, arguments):
                result = await session.call_tool(name, arguments)
                transcript["steps"].append(_step(name, arguments, result))
                return result.structured_content

            added = await call(
                "add_tasks",
                {
                    "tasks": [
                        {"title": "Buy milk", "priority": "high"},
                        {"title": "Call mum"},
                        {"title": "Water plants", "tags": ["home"]},
                    ]
                },
            )
            ids = [task["id"] for task in added["tasks"]]
            page = await call("find_tasks", {"sort": "title", "limit": 2})
            while page["next_cursor"]:
                page = await call(
                    "find_tasks",
                    {"sort": "title", "limit": 2, "cursor": page["next_cursor"]},
                )
            await call("complete_tasks", {"ids": ids[:2]})
            found = await call("search", {"query": "plants"})
            await call("fetch", {"id": found["results"][0]["id"]})
            await call(
                "quick_add",
                {
                    "text": "Pay rent tomorrow at 9am p1 @bills",
                    "timezone": "Europe/Berlin",
                },
            )
            await call("delete_tasks", {"ids": [ids[1]]})
            await call("find_tasks", {"sort": "title"})

            owner.revoke(token["id"])
            transcript["revoked"] = 204
            try:
                await call("find_tasks", {})
                transcript["after_revocation"] = {"error": None}
            except MCPError as error:
                transcript["after_revocation"] = {
                    "error": type(error).__name__,
                    "code": error.code,  # the SDK's stand-in for a non-JSON answer
                    **answers[-1],
                }

    asyncio.run(go())
    return transcript


def typescript_conversation(url: str, owner: SignedIn, token: dict) -> dict:
    done = subprocess.run(
        ["node", str(TSCLIENT / "conversation.mjs")],
        env={
            **os.environ,
            "MCP_URL": url,
            "ACCESS_TOKEN": token["token"],
            "SIGN_IN_TOKEN": owner.headers["Authorization"].removeprefix("Bearer "),
            "TOKEN_ID": token["id"],
        },
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def assert_the_conversation(transcript: dict, url: str) -> None:
    """What an agent must have seen, whichever client it used."""
    tools = {tool["name"]: tool for tool in transcript["tools"]}
    assert len(tools) == 18
    for name, tool in tools.items():
        Validator.check_schema(tool["inputSchema"])
        Validator.check_schema(tool["outputSchema"])
        hints = tool["annotations"]
        assert hints["openWorldHint"] is False, name
        assert {"readOnlyHint", "destructiveHint", "idempotentHint"} <= set(hints)
    for step in transcript["steps"]:
        assert not step["isError"], step
        schema = tools[step["tool"]]["outputSchema"]
        Validator(schema).validate(step["structuredContent"])

    steps = transcript["steps"]
    added = steps[0]["structuredContent"]["tasks"]
    assert [task["title"] for task in added] == ["Buy milk", "Call mum", "Water plants"]
    assert added[0]["priority"] == "high" and added[2]["tags"] == ["home"]
    first, second = (step["structuredContent"] for step in steps[1:3])
    assert [t["title"] for t in first["tasks"]] == ["Buy milk", "Call mum"]
    assert [t["title"] for t in second["tasks"]] == ["Water plants"]
    assert first["next_cursor"] and second["next_cursor"] is None
    completed = steps[3]["structuredContent"]["tasks"]
    assert [(t["title"], t["status"]) for t in completed] == [
        ("Buy milk", "completed"),
        ("Call mum", "completed"),
    ]
    results = steps[4]["structuredContent"]["results"]
    plants = added[2]["id"]
    assert results == [
        {"id": plants, "title": "Water plants", "url": f"{url}/api/tasks/{plants}"}
    ]
    assert json.loads(steps[4]["text"]) == steps[4]["structuredContent"]
    document = steps[5]["structuredContent"]
    assert (document["id"], document["url"]) == (plants, results[0]["url"])
    assert "Water plants" in document["text"] and "tags: home" in document["text"]
    assert document["metadata"]["status"] == "pending"
    quick = steps[6]["structuredContent"]["task"]
    assert (quick["title"], quick["priority"], quick["tags"]) == (
        "Pay rent",
        "urgent",
        ["bills"],
    )
    assert quick["due_date"].endswith(":00:00Z")  # 9:00 in Berlin, as UTC
    assert steps[7]["structuredContent"] == {"deleted": [added[1]["id"]]}
    left = steps[8]["structuredContent"]["tasks"]
    assert [t["title"] for t in left] == ["Buy milk", "Pay rent", "Water plants"]

    assert transcript["revoked"] == 204
    after = transcript["after_revocation"]
    assert after["error"] and after["status"] == 401
    assert after["www_authenticate"] == INVALID
    assert len(steps) == 9  # the call after revocation answered no tool result


def test_the_python_sdk_clients_conversation(live_server):
    owner = SignedIn(live_server, "pyagent")
    token = owner.create(["mcp", "tasks:write"], name="python agent")
    transcript = python_conversation(live_server.url, owner, token)
    assert_the_conversation(transcript, live_server.url)


def test_the_typescript_sdk_clients_conversation(live_server):
    owner = SignedIn(live_server, "tsagent")
    token = owner.create(["mcp", "tasks:write"], name="node agent")
    transcript = typescript_conversation(live_server.url, owner, token)
    assert transcript["client"] == "typescript"
    assert_the_conversation(transcript, live_server.url)
    # the SDK's StreamableHTTPError carries the HTTP status
    assert transcript["after_revocation"]["code"] == 401
