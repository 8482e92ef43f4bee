"""What an agent reads before it acts: every tool with a description a model can
act on, all four annotations, an output schema its answers validate against,
and the whole list small enough for a model's context. And an access token that
is expired, revoked or unknown is an HTTP 401 on every request, never a tool
result."""

import json

import jsonschema
import pytest

from tests.support.mcp import TOOLS, rpc
from tests.support.tokens import INVALID, create_access_token, expire
from tests.support.users import bearer, make_token, new_user_id

MAX_TOOL_LIST_BYTES = 16 * 1024
READ_ONLY = {"find_tasks", "list_tasks", "get_task", "list_lists", "search", "fetch"}
DESTRUCTIVE = {"delete_task", "delete_tasks"}


def tool_list(client, headers) -> tuple[int, list[dict]]:
    answer = rpc(client, "tools/list", headers=headers)
    assert answer.status_code == 200, answer.data
    return len(answer.data), answer.get_json()["result"]["tools"]


def test_the_tool_list_fits_a_models_context_and_says_what_each_tool_does(client):
    size, tools = tool_list(client, bearer(make_token(new_user_id("lister"))))
    assert size <= MAX_TOOL_LIST_BYTES
    assert {tool["name"] for tool in tools} == TOOLS
    for tool in tools:
        name, hints = tool["name"], tool["annotations"]
        # a sentence or two
        assert 10 <= len(tool["description"]) <= 160, name
        assert tool["description"].count(". ") <= 1, name
        jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
        jsonschema.Draft202012Validator.check_schema(tool["outputSchema"])
        assert tool["outputSchema"]["type"] == "object", name
        assert hints == {
            "readOnlyHint": name in READ_ONLY,
            "destructiveHint": name in DESTRUCTIVE,
            "idempotentHint": hints["idempotentHint"],
            "openWorldHint": False,
        }, name
        assert hints["idempotentHint"] is (
            name not in {"add_task", "add_tasks", "quick_add", "add_list"}
        ), name


def test_search_and_fetch_take_the_shape_openai_connectors_call(client):
    _, tools = tool_list(client, bearer(make_token(new_user_id("connector"))))
    tools = {tool["name"]: tool for tool in tools}
    assert tools["search"]["inputSchema"]["required"] == ["query"]
    assert tools["fetch"]["inputSchema"]["required"] == ["id"]
    result = tools["search"]["outputSchema"]["properties"]["results"]["items"]
    assert set(result["required"]) == {"id", "title", "url"}
    document = tools["fetch"]["outputSchema"]
    assert set(document["required"]) == {"id", "title", "text", "url", "metadata"}


def test_every_tools_answers_and_errors_are_well_formed(client):
    """Each tool called once (the REST answer as structured content, valid for
    its output schema) and once wrongly (a tool error with the REST body)."""
    headers = bearer(make_token(new_user_id("caller")))
    _, tools = tool_list(client, headers)
    schemas = {tool["name"]: tool["outputSchema"] for tool in tools}

    def call(name, arguments):
        answer = rpc(
            client, "tools/call", {"name": name, "arguments": arguments}, headers
        )
        assert answer.status_code == 200, answer.data
        return answer.get_json()["result"]

    one = call("add_task", {"title": "One"})["structuredContent"]
    two = call("add_task", {"title": "Two"})["structuredContent"]
    calls = {
        "add_task": {"title": "Three"},
        "add_tasks": {"tasks": [{"title": "Four"}]},
        "quick_add": {"text": "Five tomorrow"},
        "find_tasks": {"limit": 1},
        "list_tasks": {},
        "get_task": {"task_id": one["id"]},
        "search": {"query": "One"},
        "fetch": {"id": one["id"]},
        "update_task": {"task_id": one["id"], "priority": "low"},
        "update_tasks": {"updates": [{"id": one["id"], "tags": ["x"]}]},
        "move_task": {"task_id": two["id"], "before": one["id"]},
        "complete_task": {"task_id": one["id"]},
        "reopen_task": {"task_id": one["id"]},
        "complete_tasks": {"ids": [one["id"]]},
        "list_lists": {},
        "add_list": {"name": "Errands"},
        "delete_task": {"task_id": one["id"]},
        "delete_tasks": {"ids": [two["id"]]},
    }
    assert set(calls) == TOOLS
    for name, arguments in calls.items():
        result = call(name, arguments)
        assert not result.get("isError"), (name, result)
        jsonschema.validate(result["structuredContent"], schemas[name])
        wrong = call(name, {"user_id": "someone-else", **arguments})
        assert wrong["isError"] and wrong["structuredContent"]["status"] == 403


@pytest.fixture
def access_token(alice):
    return create_access_token(alice, ["mcp", "tasks:write"])


def _every_request_is_401(client, token: str, challenge: str = INVALID) -> None:
    for method, params in (
        ("initialize", {}),
        ("tools/list", {}),
        ("tools/call", {"name": "find_tasks", "arguments": {}}),
    ):
        answer = rpc(client, method, params, bearer(token))
        assert answer.status_code == 401, (method, answer.data)
        assert answer.headers["WWW-Authenticate"] == challenge
        assert "result" not in answer.get_json()  # the API's error body, no tool result
        assert answer.get_json()["status"] == 401


def test_an_access_token_works_as_a_sign_in_token_until_it_expires(
    app, client, alice, access_token
):
    token = access_token["token"]
    _, tools = tool_list(client, bearer(token))
    assert {tool["name"] for tool in tools} == TOOLS
    made = rpc(
        client,
        "tools/call",
        {"name": "add_tasks", "arguments": {"tasks": [{"title": "By token"}]}},
        bearer(token),
    ).get_json()["result"]
    assert made["structuredContent"]["tasks"][0]["user_id"] == alice.id
    expire(app, token)
    _every_request_is_401(client, token)


def test_a_revoked_or_unknown_access_token_is_401_on_every_request(
    client, alice, access_token
):
    revoked = client.delete(
        f"/api/tokens/{access_token['id']}", headers=bearer(alice.token)
    )
    assert revoked.status_code == 204
    _every_request_is_401(client, access_token["token"])
    unknown = "tsk_" + "A" * 34
    unknown += access_token["token"][-6:]  # well-formed or not, unknown is 401
    _every_request_is_401(client, unknown)


def test_the_401_names_the_resource_metadata_when_configured(make_app, alice):
    signing_in = make_app(MCP_AUTHORIZATION_SERVER="https://auth.example.com")
    client = signing_in.test_client()
    created = create_access_token(alice, ["mcp", "tasks:read"])
    assert (
        alice.client.delete(
            f"/api/tokens/{created['id']}", headers=bearer(alice.token)
        ).status_code
        == 204
    )
    metadata = "http://localhost/.well-known/oauth-protected-resource/mcp"
    challenge = f'{INVALID}, resource_metadata="{metadata}"'
    _every_request_is_401(client, created["token"], challenge)
    assert json.loads(client.get(metadata).data)["authorization_servers"] == [
        "https://auth.example.com"
    ]
