"""Real servers of the app: gunicorn with the project's gunicorn.conf.py, werkzeug's
threaded server, plain HTTP calls to them, and waiting with a deadline."""

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from tests.support.environment import POOLER_SETTINGS, ROOT
from tests.support.users import SECRET, bearer, make_token, new_user_id


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
        **POOLER_SETTINGS,
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

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


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
