"""Fixtures: the real app on a real database, and users with real signed tokens.

The database is PostgreSQL when TEST_DATABASE_URL names one (scripts/test starts
a throwaway server and sets it), else a SQLite file. Each pytest-xdist worker gets
its own database, migrated with Alembic exactly as production is. Every test gets
users with fresh ids, so tests never see each other's tasks. With TEST_PGBOUNCER_URL
too (scripts/test's third pass), the app, its migrations and the servers the tests start
reach that database through PgBouncer, with DATABASE_POOL=pgbouncer.
"""

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from taskapi import create_app
from taskapi.config import TestingConfig, database_url
from taskapi.db import Session, get_engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
SECRET = "tests-secret-" * 5  # 65 bytes: long enough for every HMAC size
on_postgres = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgres"))
# A transaction-pooling PgBouncer in front of TEST_DATABASE_URL's server
TEST_PGBOUNCER_URL = os.environ.get("TEST_PGBOUNCER_URL") or None
through_pgbouncer = bool(on_postgres and TEST_PGBOUNCER_URL)


def pytest_report_header(config):
    if through_pgbouncer:
        return f"database: PostgreSQL through PgBouncer ({TEST_PGBOUNCER_URL})"
    return f"database: {'PostgreSQL' if on_postgres else 'SQLite'}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        no_pgbouncer = item.get_closest_marker("no_pgbouncer")
        if not on_postgres and "postgres_only" in item.keywords:
            reason = "needs PostgreSQL: runs in the PostgreSQL pass"
        elif through_pgbouncer and no_pgbouncer:
            reason = f"not through PgBouncer: {no_pgbouncer.args[0]}"
        elif not through_pgbouncer and "pgbouncer_only" in item.keywords:
            reason = "needs PgBouncer: runs in the PgBouncer pass"
        else:
            continue
        item.add_marker(pytest.mark.skip(reason=reason))


BROWSER_TESTS = "tests/test_browser"  # tests/test_browser*.py


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` (scripts/test) with every browser test in one group, so one
    worker runs them all: one Chromium, one page server on port 3000. xdist 3.8
    groups `xdist_group` marks by renaming node ids, which pytest 9 ignores, so the
    group is named here from the file name instead."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class BrowserTestsTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid):
            return "browser" if nodeid.startswith(BROWSER_TESTS) else nodeid

    return BrowserTestsTogether(config, log)


@contextlib.contextmanager
def fresh_database(name):
    """A new, empty PostgreSQL database on the test server; dropped afterwards.
    Yields its URL."""
    server = make_url(database_url(TEST_DATABASE_URL))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory, worker_id):
    """This xdist worker's own database (PostgreSQL) or file (SQLite)."""
    if not on_postgres:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with fresh_database(f"taskapi_test_{worker_id}") as url:
        yield through_the_pooler(url) if through_pgbouncer else url


def through_the_pooler(url: str) -> str:
    """The same database reached through TEST_PGBOUNCER_URL's PgBouncer."""
    pooler = make_url(database_url(TEST_PGBOUNCER_URL))
    url = make_url(url).set(host=pooler.host, port=pooler.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def config_class(database_uri):
    class Config(TestingConfig):
        def __init__(self, instance_path="instance"):
            super().__init__(instance_path)
            self.SQLALCHEMY_DATABASE_URI = database_uri
            self.JWT_SECRET_KEY = SECRET
            if through_pgbouncer:
                self.DATABASE_POOL = "pgbouncer"

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
    """Another app on the test database (migrated by `app`): from another config
    class, `make_app(BrokenConfig)`, and/or with settings changed,
    `make_app(API_RATE_LIMIT="3/hour")`. Engines are disposed at the end."""
    apps = []

    def make(base=None, **settings):
        class Config(base or config_class):
            def __init__(self, instance_path="instance"):
                super().__init__(instance_path)
                for name, value in settings.items():
                    setattr(self, name, value)

        apps.append(create_app(Config))
        return apps[-1]

    yield make
    for made in apps:
        get_engine(made).dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def gunicorn(database_uri, log_path, *options, **env):
    """The app served by a real gunicorn with the project's gunicorn.conf.py (plus
    `options`, and `env` in its environment) on a free loopback port, against the
    test database; yields the port."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_uri,
        "BETTER_AUTH_SECRET": SECRET,
        **({"DATABASE_POOL": "pgbouncer"} if through_pgbouncer else {}),
        **env,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *options]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [*command, f"--bind=127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def gunicorn_url(app, database_uri, tmp_path_factory):
    """The URL of the app under a real gunicorn (one worker)."""
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(database_uri, log_path, "--workers=1") as port:
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def werkzeug_server(app):
    """The app under werkzeug's threaded server on a free loopback port; yields
    its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextlib.contextmanager
def sent_statements(app):
    """The SQL text of each statement the app's engine sent while the block ran,
    as sent: `EXECUTE taskapi_N (...)` for a prepared one (taskapi/prepared.py)."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = get_engine(app)
    event.listen(engine, "after_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "after_cursor_execute", record)


def assert_error(response, status):
    """The contract's JSON error body, with this status; returns the body."""
    assert response.status_code == status, response.data[:300]
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


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

    def via(self, prefix):
        """The same user calling through another route family."""
        return User(self.client, self.id, prefix)

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


# A real server, for tests of concurrent requests -----------------------------------


@contextlib.contextmanager
def gunicorn_server(database_uri, log_dir, **env):
    """The app under a real gunicorn (2 worker processes x 10 threads); `env` adds
    to the environment (e.g. CORS_ORIGINS). Yields a LiveServer."""
    log_path = Path(log_dir) / "gunicorn.log"
    with gunicorn(database_uri, log_path, "--workers=2", "--threads=10", **env) as port:
        yield LiveServer("127.0.0.1", port)


@pytest.fixture(scope="session")
def live_server(app, database_uri, tmp_path_factory):
    """The app under a real gunicorn, for races and the browser."""
    with gunicorn_server(database_uri, tmp_path_factory.mktemp("gunicorn")) as server:
        yield server


class LiveResponse:
    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = headers
        self.data = body

    def get_json(self):
        return json.loads(self.data)


class LiveServer:
    """Plain HTTP/1.1 calls to the live server, one connection per call (so calls
    from many threads run side by side)."""

    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"

    def request(self, method, path, *, json_body=None, headers=None):
        body = None
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return LiveResponse(
                response.status, Headers(response.getheaders()), response.read()
            )
        finally:
            connection.close()

    def user(self, name):
        """A new user calling this server with a real token."""
        return LiveUser(self, new_user_id(name))


class LiveUser:
    def __init__(self, server, user_id):
        self.server = server
        self.id = user_id
        self.headers = {"Authorization": f"Bearer {make_token(user_id)}"}

    def request(self, method, path, json=None, headers=None):
        return self.server.request(
            method,
            f"/api/{self.id}{path}",
            json_body=json,
            headers={**self.headers, **(headers or {})},
        )


@pytest.fixture
def race():
    """Run the calls in threads released at the same moment; their results in order."""

    def run(calls):
        barrier = threading.Barrier(len(calls))

        def go(call):
            barrier.wait()
            return call()

        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(go, calls))

    return run


# A real browser ---------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling Google's servers, which on a machine
    # with no internet costs seconds per page.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host name but localhost fails to resolve: a page that needs the
    # internet shows it, instead of working here and failing offline elsewhere.
    "--host-resolver-rules=MAP localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1600",
]


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium for the test session, driven by selenium through
    Debian's chromedriver (never a downloaded one). Its console is kept
    (`browser.get_log("browser")`) so tests can read what Chromium reported."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if missing:
        pytest.skip(
            f"NO BROWSER ON THIS MACHINE ({', '.join(missing)} missing): the browser "
            "tests did not run. scripts/test installs Chromium when it runs as root "
            "with apt; else `apt-get install chromium chromium-driver`."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def log_lines(capsys):
    """The JSON log lines written to stderr so far, parsed."""

    def read():
        return [
            json.loads(line)
            for line in capsys.readouterr().err.splitlines()
            if line.startswith("{")
        ]

    return read
