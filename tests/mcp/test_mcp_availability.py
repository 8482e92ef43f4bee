"""No one agent slows down everyone (issue 28): /mcp answers only POST, with /api's
body limit and error body, and one agent's slow tool call does not hold up
another's. Against a real gunicorn, with the SDK's own client for tool calls."""

import http.client
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from werkzeug.datastructures import Headers

from taskapi.core.db import get_engine
from tests.support.mcp import TOOLS, Agent, agent_for
from tests.support.responses import assert_error
from tests.support.servers import LiveResponse, LiveServer, gunicorn, wait_until
from tests.support.users import bearer, make_token, new_user_id

ONE_MIB = 1024 * 1024
EVENT_STREAM = {"Accept": "text/event-stream"}
JSON_RPC = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}


def send(server, method, path, *, body=None, headers=None, timeout=2.0, **options):
    """One request on a connection of its own; None when no answer came in time."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {}, **options)
        response = connection.getresponse()
        return LiveResponse(
            response.status, Headers(response.getheaders()), response.read()
        )
    except TimeoutError:
        return None
    finally:
        connection.close()


def side_by_side(calls):
    """Run the calls in threads at once; their results, in order."""
    results = [None] * len(calls)

    def run(index, call):
        results[index] = call()

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture(scope="module")
def small_server(app, database_uri, tmp_path_factory):
    """gunicorn as the issue found it: 2 workers x 4 threads, all this module's."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(database_uri, log, "--workers=2", "--threads=4") as port:
        yield LiveServer("127.0.0.1", port)


def test_event_stream_gets_are_405_at_once_and_health_still_answers(small_server):
    # The SDK answers such a GET with an event stream that never ends: 8 of them
    # used to hold every thread of both workers, /health included, for ever.
    token = bearer(make_token(new_user_id("streamer")))
    answers = side_by_side(
        [
            lambda: send(small_server, "GET", "/mcp", headers={**token, **EVENT_STREAM})
            for _ in range(8)
        ]
    )
    health = send(small_server, "GET", "/health", timeout=1)
    assert [answer and answer.status_code for answer in answers] == [405] * 8
    for answer in answers:
        assert_error(answer, 405, "Method Not Allowed")
        assert "POST" in answer.headers["Allow"]
        assert "GET" not in answer.headers["Allow"]
    assert health is not None and health.status_code == 200


def test_delete_is_405_and_nothing_else_but_post_is_served(small_server):
    token = bearer(make_token(new_user_id("deleter")))
    for method in ("DELETE", "PUT", "PATCH"):
        answer = send(small_server, method, "/mcp", headers=token)
        assert answer is not None, f"{method} /mcp did not answer"
        assert_error(answer, 405)
        assert "POST" in answer.headers["Allow"]
    # the token check still comes first for POST
    assert send(small_server, "POST", "/mcp", body=b"{}").status_code == 401


def test_an_oversize_body_is_the_apis_json_413(small_server):
    token = bearer(make_token(new_user_id("big")))
    # A JSON-RPC request just past 1 MiB (the SDK alone took up to 4 MiB).
    padding = "x" * ONE_MIB
    body = (
        '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
        f'{{"name": "add_task", "arguments": {{"title": "{padding}"}}}}}}'
    ).encode()
    answer = send(
        small_server, "POST", "/mcp", body=body, headers={**token, **JSON_RPC}
    )
    assert answer is not None
    assert_error(answer, 413, "Request Entity Too Large")
    api = send(
        small_server, "POST", "/api/tasks", body=body, headers={**token, **JSON_RPC}
    )
    assert answer.get_json() == api.get_json()
    # sent in chunks, with no Content-Length to refuse it up front
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    chunked = send(
        small_server,
        "POST",
        "/mcp",
        body=chunks,
        headers={**token, **JSON_RPC},
        encode_chunked=True,
    )
    assert chunked is not None
    assert_error(chunked, 413)


def test_a_body_within_the_limit_is_served(small_server):
    token = bearer(make_token(new_user_id("within")))
    request = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}'
    body = request[:-1] + b" " * (ONE_MIB - len(request)) + b"}"
    assert len(body) == ONE_MIB
    answer = send(
        small_server, "POST", "/mcp", body=body, headers={**token, **JSON_RPC}
    )
    assert answer.status_code == 200, answer.data[:300]
    assert len(answer.get_json()["result"]["tools"]) == len(TOOLS)


@pytest.fixture(scope="module")
def one_worker(app, database_uri, tmp_path_factory):
    """One gunicorn worker (4 threads): every agent's call reaches the same process."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    # Lock waits as long as the test holds the lock (the default would end it).
    waits = {"DATABASE_LOCK_TIMEOUT": "20", "DATABASE_STATEMENT_TIMEOUT": "20"}
    with gunicorn(database_uri, log, "--workers=1", "--threads=4", **waits) as port:
        yield LiveServer("127.0.0.1", port)


@pytest.fixture
def row_locks(database_uri):
    """Hold a task's row lock from a connection of the test's own, as a long
    transaction of some other request would, for at most `seconds`: `hold(id)`
    returns the function that releases it sooner."""
    engine = create_engine(database_uri, isolation_level="AUTOCOMMIT")
    releases = []

    def hold(task_id, seconds=10):
        connection = engine.connect()
        connection.exec_driver_sql("BEGIN")
        connection.execute(
            text("SELECT id FROM tasks WHERE id = :id FOR UPDATE"), {"id": task_id}
        )
        once = threading.Lock()

        def release():
            if once.acquire(blocking=False):
                connection.exec_driver_sql("COMMIT")
                connection.close()

        timer = threading.Timer(seconds, release)
        timer.daemon = True
        timer.start()
        releases.append(release)
        return release

    def waiting_on_locks():
        with engine.connect() as connection:
            return connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND wait_event_type = 'Lock'"
                )
            )

    hold.waiting = waiting_on_locks
    yield hold
    for release in releases:
        release()
    engine.dispose()


@pytest.mark.postgres_only
def test_one_agents_slow_tool_call_does_not_hold_up_anothers(one_worker, row_locks):
    alice_id, alice = agent_for(one_worker.url, "alice")
    bob = Agent(one_worker.url, make_token(new_user_id("bob")))
    task = alice.call("add_task", title="Locked").structured_content
    bobs = bob.call("add_task", title="Bob's").structured_content
    # Alice's update waits on the row lock for as long as the test holds it.
    release = row_locks(task["id"])
    slow = {}
    alice_thread = threading.Thread(
        target=lambda: slow.update(
            result=alice.call("update_task", task_id=task["id"], title="Unlocked")
        ),
        daemon=True,
    )
    alice_thread.start()
    wait_until(row_locks.waiting, 10, message="Alice's update waiting on the lock")

    started = time.monotonic()
    quick = {}
    bob_thread = threading.Thread(
        target=lambda: quick.update(
            result=bob.call("get_task", task_id=bobs["id"]),
            seconds=time.monotonic() - started,
        ),
        daemon=True,
    )
    bob_thread.start()
    bob_thread.join(10)
    alice_still_waiting = alice_thread.is_alive() and row_locks.waiting() == 1
    release()
    alice_thread.join(30)

    assert "result" in quick, "Bob's get_task did not answer within 10 s"
    assert alice_still_waiting, "Bob's call was answered only after Alice's"
    assert quick["seconds"] < 5  # Alice's lock is held for up to 10 s
    assert quick["result"].structured_content == bobs
    assert slow["result"].structured_content["title"] == "Unlocked"
    assert alice_id == task["user_id"]


def _call_tool(client, token, name, arguments):
    """One stateless tools/call POST through the app (no gunicorn)."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    return client.post("/mcp", json=body, headers={**bearer(token), **JSON_RPC})


@pytest.mark.postgres_only
def test_an_answer_not_ready_in_time_is_a_json_504(make_app, row_locks):
    app = make_app(
        MCP_REPLY_SECONDS=1, DATABASE_LOCK_TIMEOUT=20, DATABASE_STATEMENT_TIMEOUT=20
    )
    client = app.test_client()
    user_id = new_user_id("late")
    token = make_token(user_id)
    made = _call_tool(client, token, "add_task", {"title": "Locked"})
    task = made.get_json()["result"]["structuredContent"]
    release = row_locks(task["id"], seconds=6)

    started = time.monotonic()
    late = _call_tool(
        client, token, "update_task", {"task_id": task["id"], "title": "Late"}
    )
    seconds = time.monotonic() - started
    release()

    assert_error(late, 504, "Gateway Timeout")
    assert "may still complete" in late.get_json()["detail"]
    assert 1 <= seconds < 5
    # the call was not cancelled: it finishes once the lock is free
    wait_until(
        lambda: client.get(
            f"/api/tasks/{task['id']}", headers=bearer(token)
        ).get_json()["title"]
        == "Late",
        10,
        message="the late update applied",
    )


@pytest.mark.no_pgbouncer("NullPool has no checked-out count to read")
def test_tool_calls_give_their_connections_back(make_app):
    app = make_app()
    client = app.test_client()
    token = make_token(new_user_id("pool"))
    made = _call_tool(client, token, "add_task", {"title": "Mine"})
    task = made.get_json()["result"]["structuredContent"]
    pool = get_engine(app).pool
    for _ in range(6):
        answer = _call_tool(client, token, "get_task", {"task_id": task["id"]})
        assert answer.get_json()["result"]["structuredContent"] == task
        # the tool thread's session was removed, in that thread, after the call
        assert pool.checkedout() == 0


def test_an_agent_whose_user_id_is_not_ascii_acts_for_that_user(one_worker):
    # The bridge hands the verified user to the SDK beside the headers, not in
    # one: a header carries latin-1 only, and a client could send one.
    user_id = new_user_id("zoë-漢字")
    agent = Agent(one_worker.url, make_token(user_id))
    made = agent.call("add_task", title="Mine")
    assert not made.is_error, made
    assert made.structured_content["user_id"] == user_id
    listed = agent.call("list_tasks").structured_content
    assert [task["id"] for task in listed["tasks"]] == [made.structured_content["id"]]


@pytest.mark.postgres_only
def test_a_tool_call_cut_short_by_the_lock_timeout_is_the_apis_503(make_app, row_locks):
    app = make_app(DATABASE_LOCK_TIMEOUT=0.5)
    client = app.test_client()
    token = make_token(new_user_id("cut"))
    made = _call_tool(client, token, "add_task", {"title": "Locked"})
    task = made.get_json()["result"]["structuredContent"]
    release = row_locks(task["id"])

    answer = _call_tool(
        client, token, "update_task", {"task_id": task["id"], "title": "Mine"}
    )
    release()

    assert answer.status_code == 200
    result = answer.get_json()["result"]
    assert result["isError"] is True
    assert result["structuredContent"] == {
        "status": 503,
        "title": "Service Unavailable",
        "detail": "The request took too long in the database and was stopped; "
        "retry shortly.",
    }
    # nothing changed, and the next call is served
    again = _call_tool(client, token, "get_task", {"task_id": task["id"]})
    assert again.get_json()["result"]["structuredContent"]["title"] == "Locked"
