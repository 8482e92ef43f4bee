"""Fixtures: the real app on a real database, and users with real signed tokens.

The database is PostgreSQL when TEST_DATABASE_URL names one (scripts/test starts
a throwaway server and sets it), else a SQLite file. Each pytest-xdist worker gets
its own database, migrated with Alembic exactly as production is. Every test gets
users with fresh ids, so tests never see each other's tasks.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from taskapi import create_app
from taskapi.config import TestingConfig, database_url
from taskapi.db import Session

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
SECRET = "tests-secret-" * 5  # 65 bytes: long enough for every HMAC size
on_postgres = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgres"))


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if on_postgres else 'SQLite'}"


def pytest_collection_modifyitems(config, items):
    if on_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: runs in the PostgreSQL pass")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory, worker_id):
    if not on_postgres:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    server = make_url(database_url(TEST_DATABASE_URL))
    name = f"taskapi_test_{worker_id}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def config_class(database_uri):
    class Config(TestingConfig):
        def __init__(self, instance_path="instance"):
            super().__init__(instance_path)
            self.SQLALCHEMY_DATABASE_URI = database_uri
            self.JWT_SECRET_KEY = SECRET

    return Config


@pytest.fixture(scope="session")
def app(config_class):
    app = create_app(config_class)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield app
    Session.remove()


@pytest.fixture(scope="session")
def make_app(app, config_class):
    """Another app on the test database (migrated by `app`), with settings
    changed: `make_app(API_RATE_LIMIT="3/hour")`."""
    apps = []

    def make(**settings):
        class Config(config_class):
            def __init__(self, instance_path="instance"):
                super().__init__(instance_path)
                for name, value in settings.items():
                    setattr(self, name, value)

        apps.append(create_app(Config))
        return apps[-1]

    yield make
    for made in apps:
        made.extensions["sqlalchemy_engine"].dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}")


@pytest.fixture(scope="session")
def gunicorn_url(app, database_uri):
    """The app served by a real gunicorn (with gunicorn_limits.py) on loopback."""
    root = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_uri,
        "BETTER_AUTH_SECRET": SECRET,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn_limits.py"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def client(app):
    return app.test_client()


def make_token(
    sub="alice", *, secret=SECRET, algorithm="HS256", lifetime=600, **claims
):
    """A real signed JWT; `sub=None` leaves the claim out."""
    now = int(time.time())
    payload = {"iat": now, "exp": now + lifetime, **claims}
    if sub is not None:
        payload["sub"] = sub
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


class User:
    """A user of the API: `alice.post("/tasks", json=...)` calls /api/<id>/tasks
    with her token. `prefix="/api"` switches to the token-only route family."""

    def __init__(self, client, user_id, prefix=None):
        self.client = client
        self.id = user_id
        self.token = make_token(user_id)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.prefix = prefix if prefix is not None else f"/api/{user_id}"

    def request(self, method, path, headers=None, **kwargs):
        return self.client.open(
            self.prefix + path,
            method=method,
            headers={**self.headers, **(headers or {})},
            **kwargs,
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def create(self, **fields):
        """Create a task through the API and return its body."""
        fields.setdefault("title", "A task")
        response = self.post("/tasks", json=fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


def new_user_id(name):
    return f"{name}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["/api/<user_id>", "/api"], ids=["user-path", "token-only"])
def prefix(request):
    """Run a test on both route families."""
    return request.param


@pytest.fixture
def alice(client):
    return User(client, new_user_id("alice"))


@pytest.fixture
def bob(client):
    return User(client, new_user_id("bob"))


@pytest.fixture
def users_on(client, prefix):
    """Make users who call the API through the route family under test."""

    def make(name):
        user_id = new_user_id(name)
        return User(client, user_id, prefix.replace("<user_id>", user_id))

    return make
