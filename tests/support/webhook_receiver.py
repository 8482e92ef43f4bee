"""Webhooks on loopback: a receiver that verifies each delivery's signature, and a
real `flask deliver-webhooks` worker process."""

import contextlib
import json
import os
import subprocess
import sys
import threading

from tests.support.environment import POOLER_SETTINGS, ROOT
from tests.support.users import SECRET


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
        **POOLER_SETTINGS,
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
