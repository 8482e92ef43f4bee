"""What the tests build on, that is not a fixture: tokens, users of the API, real
servers (gunicorn, werkzeug, a PostgreSQL cluster, Better Auth), a fresh PostgreSQL
database, the SQL recorder, the error-body assertion and the browser's settings.
Fixtures are in conftest.py."""

import base64
import contextlib
import glob
import hashlib
import hmac
import http.client
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import jwt
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from taskapi.config import database_url
from taskapi.core.db import get_engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
SECRET = "tests-secret-" * 5  # 65 bytes: long enough for every HMAC size
on_postgres = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgres"))
ROOT = Path(__file__).resolve().parent.parent
# A transaction-pooling PgBouncer in front of TEST_DATABASE_URL's server
TEST_PGBOUNCER_URL = os.environ.get("TEST_PGBOUNCER_URL") or None
through_pgbouncer = bool(on_postgres and TEST_PGBOUNCER_URL)


# Tokens and users -------------------------------------------------------------


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


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_token(header: dict, payload: dict, sign=lambda signing_input: b"") -> str:
    """A JWT built by hand, for headers and claims no honest library would write;
    `sign(signing_input)` returns its signature (empty by default)."""
    segments = [
        b64url(json.dumps(header).encode()),
        b64url(json.dumps(payload).encode()),
    ]
    signature = sign(".".join(segments).encode())
    return ".".join([*segments, b64url(signature)])


def hmac_signer(key: bytes, digest=hashlib.sha256):
    """A `sign` for forge_token: an HMAC with any key at all."""
    return lambda signing_input: hmac.new(key, signing_input, digest).digest()


def bearer(token):
    """The Authorization header that sends `token`."""
    return {"Authorization": f"Bearer {token}"}


def new_user_id(name):
    return f"{name}-{uuid.uuid4().hex[:12]}"


class User:
    """A user of the API: `alice.post("/tasks", json=...)` calls /api/<id>/tasks
    with her token. `prefix="/api"` switches to the token-only route family."""

    def __init__(self, client, user_id, prefix=None):
        self.client = client
        self.id = user_id
        self.token = make_token(user_id)
        self.headers = bearer(self.token)
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

    def create_list(self, name="A list"):
        """Create a list through the API and return its body."""
        response = self.post("/lists", json={"name": name})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


# Query plans (PostgreSQL) -------------------------------------------------------


def explain_last_statement(app, call, seqscan=True, nth=-1):
    """Run `call()`, then EXPLAIN (FORMAT JSON) the last statement the app sent
    (or the `nth`), with its parameters, as sent: (call's result, the plan's root
    node). `seqscan=False` for tables too small for the planner to use an index."""
    with sent_statements(app, with_parameters=True) as sent:
        result = call()
    statement, parameters = sent[nth]
    with get_engine(app).connect() as conn:
        cursor = conn.connection.cursor()
        if not seqscan:
            cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        plan = cursor.fetchone()[0][0]["Plan"]
        if not seqscan:
            cursor.execute("RESET enable_seqscan")  # the pooled connection is shared
    return result, plan


def plan_nodes(plan) -> list:
    """(node type, index or table) of every node of a plan, depth first."""
    nodes = [(plan["Node Type"], plan.get("Index Name") or plan.get("Relation Name"))]
    for child in plan.get("Plans", []):
        nodes.extend(plan_nodes(child))
    return nodes


# Servers ----------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nothing listens on (until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port) -> bool:
    """Whether something accepts connections on this loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def gunicorn_process(database_uri, log_path, *options, **env):
    """The app served by a real gunicorn with the project's gunicorn.conf.py (plus
    `options`, and `env` in its environment) on a free loopback port, against the
    test database; yields the master's Popen (for tests that signal it) and the
    port."""
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
        wait_until(
            lambda: server.poll() is not None or listening(port),
            60,
            interval=0.1,
            message=lambda: f"gunicorn listening:\n{log_path.read_text()}",
        )
        if server.poll() is not None:
            pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
        yield server, port
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


@contextlib.contextmanager
def gunicorn(database_uri, log_path, *options, **env):
    """gunicorn_process's server; yields its port."""
    with gunicorn_process(database_uri, log_path, *options, **env) as (_server, port):
        yield port


@contextlib.contextmanager
def gunicorn_server(database_uri, log_dir, **env):
    """The app under a real gunicorn (2 worker processes x 10 threads); `env` adds
    to the environment (e.g. CORS_ORIGINS). Yields a LiveServer."""
    log_path = Path(log_dir) / "gunicorn.log"
    with gunicorn(database_uri, log_path, "--workers=2", "--threads=10", **env) as port:
        yield LiveServer("127.0.0.1", port)


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

    @classmethod
    def at(cls, url):
        """The server at `url` (http://host:port)."""
        parts = urllib.parse.urlsplit(url)
        return cls(parts.hostname, parts.port)

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


def http_get(url, path, headers=None):
    """One GET to the server at `url`, whatever serves it; a LiveResponse."""
    return LiveServer.at(url).request("GET", path, headers=headers)


class LiveUser:
    def __init__(self, server, user_id):
        self.server = server
        self.id = user_id
        self.token = make_token(user_id)
        self.headers = bearer(self.token)

    def request(self, method, path, json=None, headers=None):
        return self.server.request(
            method,
            f"/api/{self.id}{path}",
            json_body=json,
            headers={**self.headers, **(headers or {})},
        )


# The app's configuration and database -----------------------------------------


def config_with(base, **settings):
    """`base`, a config class, with these settings changed."""

    class Config(base):
        def __init__(self, instance_path="instance"):
            super().__init__(instance_path)
            for name, value in settings.items():
                setattr(self, name, value)

    return Config


@contextlib.contextmanager
def fresh_database(name):
    """A new, empty PostgreSQL database on the test server; dropped afterwards.
    Yields its URL. The name carries the test run's id, so two runs sharing one
    server (developers, parallel sessions) never drop each other's databases."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    if not name.endswith(run[:8]):
        name = f"{name}_{run[:8]}"
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


def through_the_pooler(url: str) -> str:
    """The same database reached through TEST_PGBOUNCER_URL's PgBouncer."""
    pooler = make_url(database_url(TEST_PGBOUNCER_URL))
    url = make_url(url).set(host=pooler.host, port=pooler.port)
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def own_database(name, sqlite_file):
    """A database no other test uses: a fresh PostgreSQL one called `name` on the
    PostgreSQL pass, else the SQLite file. Yields its URL."""
    if not on_postgres:
        yield f"sqlite:///{sqlite_file}"
        return
    with fresh_database(name) as url:
        yield url


@contextlib.contextmanager
def sent_statements(app, engine=None, with_parameters=False):
    """The SQL text of each statement the app's engine (or `engine`) sent while
    the block ran, as sent: `EXECUTE taskapi_N (...)` for a prepared one
    (taskapi/prepared.py); `with_parameters`: (text, parameters) pairs."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters) if with_parameters else statement)

    engine = engine or get_engine(app)
    event.listen(engine, "after_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "after_cursor_execute", record)


class Cluster:
    """A throwaway PostgreSQL server, run as `postgres` when we are root."""

    def __init__(self):
        self.bin = Path(
            os.environ.get("TEST_PG_BIN")
            or sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        )
        self.dir = Path(tempfile.mkdtemp(prefix="taskapi-outage-"))
        self.port = free_port()
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_pg:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.run("initdb", "-D", self.dir / "data", "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, program, *args):
        subprocess.run(
            [*self.as_pg, self.bin / program, *map(str, args)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "-D", self.dir / "data", "-l", self.dir / "server.log",
                 "-w", "-o", options, "start")  # fmt: skip

    def kill(self):
        """Stop as a crash does: backends die, clients' connections drop."""
        self.run("pg_ctl", "-D", self.dir / "data", "-m", "immediate", "stop")

    def remove(self):
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


BETTER_AUTH_DIR = Path(__file__).resolve().parent / "betterauth"


@dataclass
class Account:
    """One signed-in browser: its cookies, as Better Auth set them."""

    email: str
    password: str
    cookies: dict = field(default_factory=dict)

    @property
    def session_jwt(self) -> str:
        """The cookie cache: Better Auth's HS256 session JWT, what frontends send."""
        return self.cookies["better-auth.session_data"]

    @property
    def session_token(self) -> str:
        return self.cookies["better-auth.session_token"].split(".")[0]

    @property
    def session_id(self) -> str:
        return jwt.decode(self.session_jwt, options={"verify_signature": False})[
            "session"
        ]["id"]


class BetterAuth:
    """The real Better Auth (tests/betterauth/server.mjs), on `url`'s database.

    A context manager: starts the Node server (which runs Better Auth's own
    migration) and stops it."""

    def __init__(self, url: str, secret: str, log_path: Path):
        if not (BETTER_AUTH_DIR / "node_modules" / "better-auth").is_dir():
            pytest.fail(
                "tests/betterauth is not installed: scripts/test runs "
                "`npm ci --prefix tests/betterauth`"
            )
        self.database_url = database_url(url)  # the app's spelling (psycopg2)
        self._url, self._secret, self._log_path = url, secret, log_path

    def __enter__(self):
        self._log = open(self._log_path, "w")
        env = {**os.environ, "DATABASE_URL": self._url,
               "BETTER_AUTH_SECRET": self._secret, "PORT": "0"}  # fmt: skip
        self.process = subprocess.Popen(
            ["node", str(BETTER_AUTH_DIR / "server.mjs")],
            env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline()  # "listening <port>", or EOF
        if not line.startswith("listening "):
            self.process.kill()
            raise RuntimeError(
                f"Better Auth did not start: {self._log_path.read_text()}"
            )
        self.origin = f"http://127.0.0.1:{int(line.split()[1])}"
        self.jwks_url = f"{self.origin}/api/auth/jwks"
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        self._log.close()

    def request(self, method: str, path: str, body=None, account=None) -> dict:
        """Call Better Auth's handler as a browser on its origin does; keeps the
        cookies it sets on `account`."""
        request = urllib.request.Request(
            f"{self.origin}/api/auth{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Origin": self.origin},
        )
        if account is not None and account.cookies:
            request.add_header(
                "Cookie", "; ".join(f"{k}={v}" for k, v in account.cookies.items())
            )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload, headers = response.read(), response.headers
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{path}: {error.code} {error.read()[:300]}") from None
        if account is not None:
            for header in headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0":
                        account.cookies.pop(name, None)
                    else:
                        account.cookies[name] = morsel.value
        return json.loads(payload) if payload else {}

    def post(self, path: str, body: dict, account=None) -> dict:
        return self.request("POST", path, body, account)

    def sign_up(self) -> Account:
        account = Account(
            f"{uuid.uuid4().hex[:12]}@example.com", "correct-horse-battery"
        )
        self.post("/sign-up/email",
                  {"email": account.email, "password": account.password,
                   "name": "Test User"}, account)  # fmt: skip
        return account

    def sign_in(self, account: Account) -> Account:
        """The same user on another device: a session of its own."""
        device = Account(account.email, account.password)
        credentials = {"email": account.email, "password": account.password}
        self.post("/sign-in/email", credentials, device)
        return device

    def sign_out(self, account: Account) -> None:
        self.post("/sign-out", {}, account)

    def plugin_token(self, account: Account) -> str:
        """The jwt() plugin's EdDSA token for the account's session."""
        return self.request("GET", "/token", account=account)["token"]

    @contextlib.contextmanager
    def database(self):
        engine = create_engine(self.database_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()


# Waiting and assertions -------------------------------------------------------


def wait_until(predicate, timeout, *, interval=0.05, message="condition"):
    """Call `predicate` until it returns something true, and return that; fail
    the test once `timeout` seconds have passed. `message` (or a function making
    it, called only on failure) says what never happened."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            pytest.fail(f"not within {timeout} s: {text}")
        time.sleep(interval)
    return result


def assert_error(response, status, title=None):
    """The contract's JSON error body, with this status (and title, if given);
    returns the body. Works on test-client and LiveServer responses."""
    assert response.status_code == status, response.data[:300]
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    if title is not None:
        assert body["title"] == title
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_unauthorized(response):
    """A 401 error body with a Bearer challenge; returns the body."""
    body = assert_error(response, 401, "Unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return body


def exposed_headers(response) -> set:
    """The header names CORS lets a browser read, lower case."""
    header = response.headers["Access-Control-Expose-Headers"]
    return {name.strip().lower() for name in header.split(",")}


# A real browser ---------------------------------------------------------------


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


# Webhooks ---------------------------------------------------------------------


class Receiver:
    """A webhook receiver on loopback: verifies each POST's Standard Webhooks
    signature with `secret` (set once the webhook is registered) and records
    what arrived. `answer(n)` gives the status of the n-th request (from 1);
    `hold` (a threading.Event) makes the first request wait until it is set."""

    def __init__(self, answer=lambda n: 200, hold=None):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from standardwebhooks import Webhook

        self.secret = None
        self.events = []  # verified bodies, in the order they arrived
        self.requests = 0
        self.in_flight = threading.Event()  # the first request has arrived
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    number = receiver.requests
                receiver.in_flight.set()
                if hold is not None and number == 1:
                    hold.wait(30)
                Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                status = answer(number)
                if 200 <= status < 300:
                    with receiver.lock:
                        receiver.events.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def types(self, task_id=None):
        return [
            event["type"]
            for event in list(self.events)
            if task_id is None or event["data"]["task"]["id"] == task_id
        ]


@contextlib.contextmanager
def webhook_worker(database_uri, log_path, **env):
    """A real `flask --app wsgi deliver-webhooks` process on the test database;
    yields its Popen. Stopped with SIGTERM at the end if still running."""
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_uri,
        "BETTER_AUTH_SECRET": SECRET,
        **({"DATABASE_POOL": "pgbouncer"} if through_pgbouncer else {}),
        **{name: str(value) for name, value in env.items()},
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "deliver-webhooks"]
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
