"""An agent acts with its user's role in a shared list: an editor's agent
writes the list's tasks, a viewer's agent reads them and every write is a tool
error with the REST 403's detail, a stranger's agent finds nothing."""

from taskapi.core.scope import VIEWER_CANNOT_WRITE
from tests.support.mcp import Agent, error_text
from tests.support.servers import LiveServer
from tests.support.sharing import share
from tests.support.users import make_token


def test_agents_act_with_their_users_role(mcp_url):
    server = LiveServer.at(mcp_url)
    alice, bob, vera, sam = (
        server.user(name) for name in ("alice", "bob", "vera", "sam")
    )
    family = alice.post("/lists", json={"name": "Family"}).get_json()
    share(alice, family["id"], bob, "editor")
    share(alice, family["id"], vera, "viewer")
    agents = {user.id: Agent(mcp_url, make_token(user.id)) for user in (bob, vera, sam)}

    added = agents[bob.id].call("add_task", title="Milk", list_id=family["id"])
    task = added.structured_content
    assert (task["user_id"], task["created_by"]) == (alice.id, bob.id)
    viewer = agents[vera.id]
    assert viewer.call("get_task", task_id=task["id"]).structured_content == task
    listed = viewer.call("list_lists").structured_content
    assert [(li["id"], li["role"]) for li in listed["lists"]] == [
        (family["id"], "viewer")
    ]
    for name, arguments in (
        ("update_task", {"task_id": task["id"], "title": "Beer"}),
        ("complete_task", {"task_id": task["id"]}),
        ("delete_task", {"task_id": task["id"]}),
        ("add_task", {"title": "Beer", "list_id": family["id"]}),
    ):
        assert error_text(viewer.call(name, **arguments)).endswith(VIEWER_CANNOT_WRITE)
        assert error_text(agents[sam.id].call("get_task", task_id=task["id"])).endswith(
            "Task not found."
        )
    assert agents[sam.id].call("list_tasks").structured_content["total"] == 0
