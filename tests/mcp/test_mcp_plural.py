"""An agent's plural calls are all or nothing (the batch path): a bad item is a
tool error naming its index with the REST error, and nothing is created, changed
or deleted. find_tasks pages with an opaque cursor bound to its filters."""

import pytest

from taskapi.core.scope import VIEWER_CANNOT_WRITE
from tests.support.mcp import Agent, agent_for, error_text, rpc
from tests.support.sharing import share
from tests.support.users import bearer, make_token, new_user_id

MISSING = "00000000-0000-4000-8000-000000000000"


def titles(agent: Agent, **filters) -> list[str]:
    found = agent.call("find_tasks", sort="title", limit=100, **filters)
    return [task["title"] for task in found.structured_content["tasks"]]


def test_a_bad_third_task_creates_none_and_names_its_index(live_server):
    _, agent = agent_for(live_server.url, "plural")
    items = [{"title": "One"}, {"title": "Two"}, {"title": "x", "priority": "super"}]
    result = agent.call("add_tasks", tasks=items)
    assert result.is_error
    body = result.structured_content
    assert body["index"] == 2 and body["status"] == 422
    assert error_text(result).startswith("Item 2: Validation failed")
    # the REST batch's error for the same items, body for body
    operations = [{"op": "create", "body": item} for item in items]
    rest = live_server.request(
        "POST",
        "/api/tasks/batch",
        json_body={"operations": operations},
        headers={"Authorization": f"Bearer {agent.token}"},
    ).get_json()
    assert rest.pop("operation") == body.pop("index")
    assert body == rest
    assert titles(agent) == []


def test_every_plural_tool_changes_nothing_when_one_item_fails(live_server):
    _, agent = agent_for(live_server.url, "plural")
    made = agent.call("add_tasks", tasks=[{"title": "A"}, {"title": "B"}])
    ids = [task["id"] for task in made.structured_content["tasks"]]
    before = agent.call("find_tasks", sort="title").structured_content

    updated = agent.call(
        "update_tasks",
        updates=[{"id": ids[0], "title": "A2"}, {"id": ids[1], "title": ""}],
    )
    assert updated.structured_content["index"] == 1
    assert "title" in error_text(updated)
    completed = agent.call("complete_tasks", ids=[ids[0], ids[1], MISSING])
    assert completed.structured_content["index"] == 2
    assert error_text(completed) == "Item 2: Task not found."
    deleted = agent.call("delete_tasks", ids=[ids[1], MISSING])
    assert deleted.structured_content["index"] == 1
    assert deleted.structured_content["status"] == 404
    assert agent.call("find_tasks", sort="title").structured_content == before

    done = agent.call("complete_tasks", ids=ids).structured_content
    assert [task["status"] for task in done["tasks"]] == ["completed"] * 2
    reopened = agent.call("complete_tasks", ids=ids, completed=False)
    assert [t["status"] for t in reopened.structured_content["tasks"]] == [
        "pending",
        "pending",
    ]
    changed = agent.call("update_tasks", updates=[{"id": ids[0], "title": "A2"}])
    assert changed.structured_content["tasks"][0]["title"] == "A2"
    assert agent.call("delete_tasks", ids=ids).structured_content == {"deleted": ids}
    assert titles(agent) == []


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("add_tasks", {"tasks": []}, "tasks"),
        ("add_tasks", {"tasks": [{"title": "x"}] * 26}, "tasks"),
        ("add_tasks", {"tasks": [{"title": "x"}, "y"]}, "tasks"),
        ("update_tasks", {}, "updates"),
        ("complete_tasks", {"ids": ["a"], "completed": "yes"}, "completed"),
        ("delete_tasks", {"ids": "all"}, "ids"),
        ("find_tasks", {"limit": 101}, "limit"),
        ("find_tasks", {"page": 2}, "page"),
        ("find_tasks", {"cursor": "not a cursor"}, "cursor"),
        ("search", {}, "query"),
        ("fetch", {"id": ""}, "id"),
        ("quick_add", {"text": "   "}, "text"),
        ("add_list", {"name": ""}, "name"),
        ("move_task", {"task_id": MISSING, "after": "x"}, "after"),
    ],
)
def test_bad_arguments_are_422_tool_errors_naming_the_field(
    live_server, tool, arguments, field
):
    _, agent = agent_for(live_server.url, "bad")
    result = agent.call(tool, **arguments)
    assert result.is_error and result.structured_content["status"] == 422, result
    location = result.structured_content["errors"]
    assert field in next(iter(location.values())), location
    assert titles(agent) == []


def test_find_tasks_pages_with_a_cursor_bound_to_its_filters(live_server):
    _, agent = agent_for(live_server.url, "pager")
    tasks = [{"title": f"Task {n:02}", "priority": "high"} for n in range(7)]
    agent.call("add_tasks", tasks=[*tasks, {"title": "Low one", "priority": "low"}])
    seen, cursor, pages = [], None, 0
    while True:
        arguments = {"priority": ["high"], "sort": "title", "limit": 3}
        if cursor:
            arguments["cursor"] = cursor
        page = agent.call("find_tasks", **arguments)
        found = page.structured_content
        seen += [task["title"] for task in found["tasks"]]
        pages += 1
        cursor = found["next_cursor"]
        if cursor is None:
            break
        # the same cursor with other filters is refused, not misread
        other = agent.call("find_tasks", sort="title", limit=3, cursor=cursor)
        assert other.is_error and "cursor" in error_text(other)
    assert pages == 3
    assert seen == [task["title"] for task in tasks]
    assert titles(agent, q="low") == ["Low one"]
    assert titles(agent, status=["completed"]) == []


def test_move_task_quick_add_and_add_list(live_server):
    _, agent = agent_for(live_server.url, "mover")
    made = agent.call("add_tasks", tasks=[{"title": "First"}, {"title": "Second"}])
    first, second = made.structured_content["tasks"]
    moved = agent.call("move_task", task_id=second["id"], before=first["id"])
    assert moved.structured_content["task"]["id"] == second["id"]
    order = agent.call("find_tasks", sort="position").structured_content["tasks"]
    assert [task["title"] for task in order] == ["Second", "First"]

    groceries = agent.call("add_list", name="Groceries").structured_content["list"]
    assert (groceries["name"], groceries["role"]) == ("Groceries", "owner")
    again = agent.call("add_list", name="groceries")
    assert again.is_error and again.structured_content["status"] == 409
    quick = agent.call("quick_add", text="Buy eggs #groceries !!").structured_content
    assert quick["task"]["list_id"] == groceries["id"]
    assert quick["task"]["title"].startswith("Buy eggs")
    into = agent.call("move_task", task_id=first["id"], list_id=groceries["id"])
    assert into.structured_content["task"]["list_id"] == groceries["id"]


def test_two_users_agents_cannot_reach_each_others_tasks_through_any_tool(live_server):
    _, alice = agent_for(live_server.url, "alice")
    _, bob = agent_for(live_server.url, "bob")
    task = alice.call("add_tasks", tasks=[{"title": "Alice's secret"}])
    task = task.structured_content["tasks"][0]
    mine = bob.call("add_task", title="Bob's").structured_content

    assert titles(bob) == ["Bob's"]
    assert bob.call("search", query="secret").structured_content == {"results": []}
    for tool, arguments in (
        ("fetch", {"id": task["id"]}),
        ("update_tasks", {"updates": [{"id": task["id"], "title": "Bob's now"}]}),
        ("complete_tasks", {"ids": [task["id"]]}),
        ("delete_tasks", {"ids": [task["id"]]}),
        ("move_task", {"task_id": task["id"]}),
        ("move_task", {"task_id": mine["id"], "after": task["id"]}),
        ("add_tasks", {"tasks": [{"title": "x", "parent_id": task["id"]}]}),
    ):
        result = bob.call(tool, **arguments)
        assert result.is_error, (tool, result)
        assert result.structured_content["status"] in (404, 422), result
        assert "not found" in error_text(result).lower()
    # Alice's task is as it was; Bob's agent made nothing either
    assert (
        alice.call("fetch", id=task["id"]).structured_content["metadata"]["updated_at"]
        == (task["updated_at"])
    )
    assert titles(alice) == ["Alice's secret"]
    assert titles(bob) == ["Bob's"]


def test_a_viewers_agent_reads_a_shared_list_and_cannot_write_it(live_server):
    server = live_server
    alice, vera = server.user("alice"), server.user("vera")
    family = alice.post("/lists", json={"name": "Family"}).get_json()
    task = alice.post("/tasks", json={"title": "Milk", "list_id": family["id"]})
    task = task.get_json()
    share(alice, family["id"], vera, "viewer")
    viewer = Agent(live_server.url, make_token(vera.id))

    assert titles(viewer) == ["Milk"]
    assert viewer.call("fetch", id=task["id"]).structured_content["title"] == "Milk"
    for tool, arguments in (
        ("add_tasks", {"tasks": [{"title": "Beer", "list_id": family["id"]}]}),
        ("update_tasks", {"updates": [{"id": task["id"], "title": "Beer"}]}),
        ("complete_tasks", {"ids": [task["id"]]}),
        ("delete_tasks", {"ids": [task["id"]]}),
        ("move_task", {"task_id": task["id"]}),
        ("quick_add", {"text": "Beer #family"}),
    ):
        result = viewer.call(tool, **arguments)
        assert result.is_error and result.structured_content["status"] == 403, result
        assert error_text(result).endswith(VIEWER_CANNOT_WRITE)
    assert titles(viewer) == ["Milk"]


def test_each_item_of_a_plural_call_counts_against_the_rate_limit(make_app, client):
    """As each operation of a batch does: 25 items are 25 requests, not one."""
    limited = make_app(API_RATE_LIMIT="10/hour").test_client()
    headers = bearer(make_token(new_user_id("busy")))
    tasks = [{"title": f"Task {n}"} for n in range(12)]
    call = {"name": "add_tasks", "arguments": {"tasks": tasks}}
    answer = rpc(limited, "tools/call", call, headers)
    result = answer.get_json()["result"]
    assert result["isError"] and result["structuredContent"]["status"] == 429
    assert client.get("/api/tasks", headers=headers).get_json() == []
    # the budget is spent: the next request is the API's HTTP 429
    assert rpc(limited, "tools/list", headers=headers).status_code == 429
