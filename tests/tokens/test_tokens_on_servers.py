"""Access tokens under a real gunicorn with 2 workers: a revoked token refused by
each worker at once, 20 concurrent creates at 45 tokens ending at exactly 50, an
agent on /mcp with the official MCP client, and no token in any log line."""

import asyncio
import http.client
import os
import threading
from pathlib import Path

import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from tests.support.servers import LiveServer, gunicorn_process, wait_until
from tests.support.tokens import INVALID, SignedIn
from tests.support.users import bearer


@pytest.fixture(scope="module")
def server(app, database_uri, tmp_path_factory):
    """gunicorn, 2 workers x 10 threads; its master process, a LiveServer, and
    its log (every line the app and gunicorn wrote)."""
    log_path = tmp_path_factory.mktemp("tokens") / "gunicorn.log"
    with gunicorn_process(database_uri, log_path, "--workers=2", "--threads=10") as (
        master,
        port,
    ):
        live = LiveServer("127.0.0.1", port)
        wait_until(lambda: len(worker_pids(master.pid)) == 2, 30, message="2 workers")
        yield master, live, log_path


def worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text()
    return set(map(int, children.split()))


def worker_serving(connection: http.client.HTTPConnection, workers) -> int | None:
    """The gunicorn worker holding the server side of a kept-alive connection:
    the socket from the server's port to the client's, found in /proc."""
    server_port = connection.port
    client_port = connection.sock.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if (local_port, remote_port) == (server_port, client_port):
            inode = fields[9]
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def get(connection, token):
    connection.request("GET", "/api/tasks", headers=bearer(token))
    response = connection.getresponse()
    response.read()
    return response.status, response.getheader("WWW-Authenticate")


def test_a_revoked_token_is_refused_by_each_worker_at_once(server):
    master, live, _log = server
    owner = SignedIn(live)
    created = owner.create(["tasks:read"])
    token = created["token"]
    workers = worker_pids(master.pid)

    # A kept-alive connection to each worker, each of which has accepted the token
    by_worker, spare = {}, []
    for _ in range(64):
        connection = http.client.HTTPConnection(live.host, live.port, timeout=30)
        assert get(connection, token)[0] == 200
        pid = worker_serving(connection, workers)
        (spare if pid in by_worker or pid is None else []).append(connection)
        if pid is not None:
            by_worker.setdefault(pid, connection)
        if len(by_worker) == 2:
            break
    assert set(by_worker) == workers, "no connection reached one of the workers"

    owner.revoke(created["id"])

    barrier = threading.Barrier(2)
    answers = {}

    def ask(pid, connection):
        barrier.wait()
        answers[pid] = get(connection, token)

    threads = [threading.Thread(target=ask, args=item) for item in by_worker.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for connection in [*by_worker.values(), *spare]:
        connection.close()
    assert answers == {pid: (401, INVALID) for pid in workers}


@pytest.mark.postgres_only
def test_20_concurrent_creates_at_45_tokens_end_with_exactly_50(server, race):
    _master, live, _log = server
    owner = SignedIn(live)
    for number in range(45):
        owner.create(["tasks:read"], name=f"t{number}")

    def create():
        return live.request(
            "POST",
            "/api/tokens",
            json_body={"name": "raced", "scopes": ["tasks:read"]},
            headers=owner.headers,
        ).status_code

    statuses = race([create] * 20)
    assert sorted(statuses) == [201] * 5 + [409] * 15
    listed = live.request("GET", "/api/tokens", headers=owner.headers).get_json()
    assert len(listed) == 50


def agent(url, token, script):
    async def go():
        async with (
            create_mcp_http_client(headers=bearer(token)) as http,
            streamable_http_client(f"{url}/mcp", http_client=http) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            return await script(session)

    return asyncio.run(go())


def test_an_agent_with_an_access_token_sees_only_the_tools_its_scopes_allow(server):
    _master, live, _log = server
    owner = SignedIn(live)
    reader = owner.create(["mcp", "tasks:read"])["token"]
    writer = owner.create(["mcp", "tasks:write"])["token"]
    bare = owner.create(["mcp"])["token"]

    async def tool_names(session):
        return sorted(tool.name for tool in (await session.list_tools()).tools)

    assert agent(live.url, reader, tool_names) == [
        "fetch", "find_tasks", "get_task", "list_lists", "list_tasks", "search"
    ]  # fmt: skip
    assert len(agent(live.url, writer, tool_names)) == 18
    assert agent(live.url, bare, tool_names) == []

    async def add_and_list(session):
        added = await session.call_tool("add_task", {"title": "From an agent"})
        listed = await session.call_tool("list_tasks", {})
        return added, listed

    added, listed = agent(live.url, writer, add_and_list)
    assert not added.is_error and added.structured_content["user_id"] == owner.id
    assert listed.structured_content["total"] == 1

    refused, listed = agent(live.url, reader, add_and_list)
    assert refused.is_error and refused.structured_content["status"] == 403
    assert "tasks:write" in refused.structured_content["detail"]
    assert listed.structured_content["total"] == 1


def mcp_post(live, token, method="tools/list"):
    return live.request(
        "POST",
        "/mcp",
        json_body={"jsonrpc": "2.0", "id": 1, "method": method, "params": {}},
        headers={
            **bearer(token),
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )


def test_mcp_answers_401_and_403_over_http(server):
    _master, live, _log = server
    owner = SignedIn(live)
    no_mcp = owner.create(["tasks:read", "tasks:write"])["token"]
    response = mcp_post(live, no_mcp)
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="mcp"'
    )

    created = owner.create(["mcp", "tasks:read"])
    assert mcp_post(live, created["token"]).status_code == 200
    owner.revoke(created["id"])
    for method in ("initialize", "tools/list", "tools/call"):
        response = mcp_post(live, created["token"], method)
        assert response.status_code == 401, response.data
        assert response.headers["WWW-Authenticate"] == INVALID

    # the official client fails on the HTTP 401: no tool result to mistake
    with pytest.raises(BaseExceptionGroup):
        agent(live.url, created["token"], lambda session: session.list_tools())


def test_no_token_appears_in_a_log_line(server):
    _master, live, log_path = server
    owner = SignedIn(live)
    used = owner.create(["tasks:read", "mcp"])
    revoked = owner.create(["tasks:read"])
    owner.revoke(revoked["id"])
    tokens = [used["token"], revoked["token"]]
    mistyped = used["token"][:-1] + ("a" if used["token"][-1] != "a" else "b")
    for token in [*tokens, mistyped, "tsk_short"]:
        live.request("GET", "/api/tasks", headers=bearer(token))
        live.request("GET", "/api/tokens", headers=bearer(token))
        mcp_post(live, token)
        httpx.get(f"{live.url}/api/tasks?token={token}", timeout=10)
    wait_until(lambda: "/api/tokens" in log_path.read_text(), 10, message="logged")
    logged = log_path.read_text()
    assert '"status": 401' in logged or '"status":401' in logged
    for token in [*tokens, mistyped]:
        assert token[4:24] not in logged
        assert token[24:] not in logged
