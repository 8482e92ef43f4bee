"""An operator watches the service: health probes, request ids, JSON logs, errors."""

import socket

import pytest
from sqlalchemy import create_engine, text

from taskapi.core.db import Session, get_engine
from tests.support.responses import assert_error
from tests.support.servers import free_port, wait_until
from tests.support.users import User, bearer, new_user_id


@pytest.fixture
def silent_server():
    """A port that accepts TCP connections and never says a word (a hung host)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_liveness_answers_without_a_token(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readiness_answers_ok_when_the_database_does(client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("outage", ["refused", "timeout"])
def test_database_down_answers_503_with_retry_after_and_liveness_stays_up(
    make_app, silent_server, outage
):
    port = free_port() if outage == "refused" else silent_server
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/taskapi?connect_timeout=2"
    client = make_app(SQLALCHEMY_DATABASE_URI=url).test_client()
    alice = User(client, new_user_id("alice"))

    for response in (
        alice.post("/tasks", json={"title": "Buy milk"}),
        alice.get("/tasks"),
        client.get("/health/ready"),
    ):
        body = assert_error(response, 503, "Service Unavailable")
        assert response.headers["Retry-After"] == "5"
        assert "retry" in body["detail"]
        assert "127.0.0.1" not in body["detail"]
    assert client.get("/health").status_code == 200


def test_every_response_carries_a_request_id(client, alice):
    responses = [
        client.get("/health"),
        alice.post("/tasks", json={"title": "A task"}),
        alice.get("/tasks/not-a-uuid"),  # 404
        client.get("/api/tasks"),  # 401
        alice.post("/tasks", data="{", content_type="application/json"),  # 400
        client.get("/no/such/route"),
    ]

    ids = [response.headers["X-Request-ID"] for response in responses]
    assert all(len(request_id) == 32 for request_id in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("incoming", ["abc-123", "a" * 128, "trace_1.2-X"])
def test_a_sane_incoming_request_id_is_echoed(client, incoming):
    response = client.get("/health", headers={"X-Request-ID": incoming})

    assert response.headers["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", ["", "a" * 129, "has space", "semi;colon", "é"])
def test_an_unsafe_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/health", headers={"X-Request-ID": incoming})

    assert response.headers["X-Request-ID"] != incoming
    assert len(response.headers["X-Request-ID"]) == 32


def test_each_request_writes_one_json_log_line_naming_the_user(alice, log_lines):
    log_lines()  # what came before
    response = alice.post(
        "/tasks?debug=1", json={"title": "Log me"}, headers={"X-Request-ID": "r-1"}
    )

    lines = [line for line in log_lines() if line["logger"] == "taskapi.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "INFO"
    assert line["method"] == "POST"
    assert line["path"] == f"/api/{alice.id}/tasks"
    assert line["status"] == response.status_code == 201
    assert line["request_id"] == "r-1"
    assert line["user_id"] == alice.id
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")


def test_requests_without_a_known_user_log_user_id_null(client, log_lines):
    log_lines()
    client.get("/api/tasks", headers=bearer("nonsense"))

    (line,) = [line for line in log_lines() if line["logger"] == "taskapi.request"]
    assert line["status"] == 401
    assert line["user_id"] is None


def test_tokens_never_reach_the_logs(client, alice, capsys):
    capsys.readouterr()
    alice.get("/tasks")
    client.get("/api/tasks", headers=bearer(alice.token + "x"))
    client.get(f"/api/tasks?access_token={alice.token}")

    assert alice.token not in capsys.readouterr().err


def test_a_500_is_logged_with_its_traceback_and_says_nothing_internal(
    make_app, config_class, log_lines
):
    app = make_app(config_class)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as outside testing

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal secret: password=hunter2 at db.internal:5432")

    log_lines()
    response = app.test_client().get("/boom", headers={"X-Request-ID": "boom-1"})

    body = assert_error(response, 500, "Internal Server Error")
    assert response.headers["X-Request-ID"] == "boom-1"
    assert "boom-1" in body["detail"]
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "RuntimeError", "Traceback", "db.internal", ".py"):
        assert leak not in text
    lines = log_lines()
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "boom-1"
    assert "RuntimeError: internal secret" in error["traceback"]
    assert "Traceback (most recent call last)" in error["traceback"]
    (access,) = [line for line in lines if line["logger"] == "taskapi.request"]
    assert access["status"] == 500
    assert access["request_id"] == "boom-1"


def terminate_backends(engine, condition: str, **parameters) -> None:
    """pg_terminate_backend() the server processes matching `condition`, then wait
    until they have exited: it only signals them, and one still exiting has not
    yet closed its socket (as it long has when the next request comes). Autocommit:
    within one transaction pg_stat_activity is a frozen snapshot."""
    matching = f"FROM pg_stat_activity WHERE {condition}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) {matching}"), parameters)
        wait_until(
            lambda: not conn.execute(
                text(f"SELECT count(*) {matching}"), parameters
            ).scalar(),
            10,
            interval=0.02,
            message="terminated backends exited",
        )


@pytest.mark.postgres_only
@pytest.mark.no_pgbouncer("a backend serves one transaction, not one connection")
def test_a_connection_lost_after_the_answer_still_delivers_it(
    make_app, config_class, database_uri
):
    """The server drops the connection between the view and the session's final
    rollback: the answer stands, and the next request gets a fresh connection."""
    app = make_app(config_class)
    admin = create_engine(database_uri)

    @app.get("/dropped")
    def dropped():
        pid = Session.execute(text("SELECT pg_backend_pid()")).scalar()
        terminate_backends(admin, "pid = :pid", pid=pid)
        return {"pid": pid}

    client = app.test_client()
    first = client.get("/dropped")
    second = client.get("/dropped")
    admin.dispose()

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.get_json()["pid"] != first.get_json()["pid"]
    assert client.get("/health/ready").status_code == 200


@pytest.mark.postgres_only
def test_connections_the_server_closed_while_idle_are_replaced(
    client, alice, database_uri
):
    task = alice.create(title="Before the restart")
    admin = create_engine(database_uri)
    # what a Neon scale-to-zero does to idle connections
    terminate_backends(
        admin, "datname = current_database() AND pid <> pg_backend_pid()"
    )
    admin.dispose()

    response = alice.get(f"/tasks/{task['id']}")

    assert response.status_code == 200  # the checkout check found and replaced them


@pytest.mark.postgres_only
@pytest.mark.no_pgbouncer("the app keeps no pool of its own behind PgBouncer")
def test_no_free_connection_in_the_pool_answers_503(
    make_app, config_class, alice, monkeypatch
):
    monkeypatch.setenv("DATABASE_POOL_SIZE", "1")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    monkeypatch.setenv("DATABASE_POOL_TIMEOUT", "1")
    app = make_app(config_class)
    client = app.test_client()
    user = User(client, alice.id)

    with get_engine(app).connect():  # the only connection, busy elsewhere
        response = user.get("/tasks")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert user.get("/tasks").status_code == 200  # free again
