"""SIGTERM to gunicorn while writers are busy: what a PaaS does on every deploy.

A real gunicorn with the project's gunicorn.conf.py serves writers that create and
rename tasks over keep-alive connections. A few more requests are held in flight
by a row lock this test takes on their tasks; SIGTERM goes to the master while they
wait, and the lock is released only afterwards. Then:

- every request that got a response got a 2xx;
- a request that got none failed at the connection (refused, reset, or closed
  before a status line; never a response cut short), after the SIGTERM, and its
  write is not in the database: the server never read it. Such requests went to a
  listener that had stopped accepting (each worker keeps its own, reuse_port, open
  until it exits) or on a kept-alive connection the stopping worker closed as the
  request went out. Nothing was done, so a client or router may retry them;
- the requests in flight at SIGTERM all finished with a 200;
- every acknowledged create and rename is in the database;
- gunicorn exits with status 0 within its graceful_timeout.
"""

import http.client
import json
import runpy
import signal
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.environment import ROOT
from tests.support.servers import gunicorn_process
from tests.support.users import bearer, make_token, new_user_id

pytestmark = pytest.mark.postgres_only

WRITERS = 4  # threads creating and renaming tasks as fast as they are answered
HELD = 3  # requests kept in flight across the SIGTERM by the test's row lock
GRACEFUL_TIMEOUT = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]

# What a client sees when its request was never read by a server that is stopping
NOT_ACCEPTED = (
    ConnectionRefusedError,  # every listener closed
    ConnectionResetError,  # queued on a listener that stopped accepting, or a
    BrokenPipeError,  # kept-alive connection closed as the request went out
    http.client.RemoteDisconnected,  # closed without a byte of a response
)


class Client:
    """One user on one keep-alive connection (reopened after a failure), with a
    record of every request: its method, task id and title, then its status or
    the connection error, and when that came."""

    def __init__(self, port, name):
        self.port = port
        self.user_id = new_user_id(name)
        self.headers = {
            **bearer(make_token(self.user_id)),
            "Content-Type": "application/json",
        }
        self.connection = None
        self.log = []

    def request(self, method, title, task_id=None):
        """POST a task or PATCH its title; the task, or None without an answer."""
        entry = {"method": method, "id": task_id, "title": title}
        self.log.append(entry)
        path = f"/api/{self.user_id}/tasks" + (f"/{task_id}" if task_id else "")
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=60
            )
        try:
            body = json.dumps({"title": title})
            self.connection.request(method, path, body, self.headers)
            response = self.connection.getresponse()
            data = response.read()  # a response cut short raises IncompleteRead
        except NOT_ACCEPTED as error:
            entry["error"], entry["time"] = error, time.monotonic()
            self.close()
            return None
        entry["status"], entry["time"] = response.status, time.monotonic()
        if response.will_close:
            self.close()
        task = json.loads(data)
        entry["id"] = task.get("id", task_id)
        return task

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def write_until_refused(client, stop):
    """Create a task, rename it; again, until the server refuses connections
    (it has stopped) or `stop` is set."""
    number = 0
    while not stop.is_set():
        number += 1
        task = client.request("POST", f"task {number}")
        if task is not None:
            client.request("PATCH", f"{number} done", task["id"])
        if isinstance(client.log[-1].get("error"), ConnectionRefusedError):
            return


def held_write(client, task_id):
    """A rename that waits on the test's row lock, then one more request on the
    same kept-alive connection (served by the stopping worker, or not accepted)."""
    client.request("PATCH", "renamed while stopping", task_id)
    client.request("POST", "after the held one")


def waiting_on_locks(admin, count, deadline=30):
    """Wait until `count` backends of this database wait on a lock. Autocommit:
    within one transaction pg_stat_activity is a frozen snapshot."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    end = time.monotonic() + deadline
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while conn.execute(query).scalar() < count:
            assert time.monotonic() < end, "the held requests never reached the lock"
            time.sleep(0.05)


def in_threads(calls, failures):
    """Start each call in a thread; an unexpected exception is kept in failures."""

    def run(call, *args):
        try:
            call(*args)
        except Exception as error:  # e.g. IncompleteRead: a response cut short
            failures.append(error)

    threads = [threading.Thread(target=run, args=call, daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    return threads


def test_sigterm_lets_in_flight_writes_finish_and_loses_no_acknowledged_write(
    app, database_uri, tmp_path
):
    admin = create_engine(database_uri, poolclass=NullPool)
    log_path = tmp_path / "gunicorn.log"
    failures = []
    # four threads a worker: room for the writers beside the held requests, however
    # the kernel spreads the connections over the two workers
    with gunicorn_process(
        database_uri,
        log_path,
        "--workers=2",
        "--threads=4",
        API_RATE_LIMIT="100000/minute",
    ) as (server, port):
        slow = [Client(port, f"slow{i}") for i in range(HELD)]
        slow_ids = [client.request("POST", "slow")["id"] for client in slow]
        writers = [Client(port, f"writer{i}") for i in range(WRITERS)]
        stop = threading.Event()
        with admin.connect() as lock:
            lock.execute(
                text("SELECT 1 FROM tasks WHERE id::text = ANY(:ids) FOR UPDATE"),
                {"ids": slow_ids},
            )
            held = [(held_write, c, i) for c, i in zip(slow, slow_ids, strict=True)]
            writing = [(write_until_refused, c, stop) for c in writers]
            threads = in_threads(held + writing, failures)
            waiting_on_locks(admin, HELD)
            time.sleep(0.3)  # the writers in full stream
            server.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            time.sleep(1)  # ample for the workers to stop accepting
            assert server.poll() is None  # gunicorn waits for the held requests
            assert not any("status" in c.log[1] for c in slow)  # still in flight
            lock.rollback()  # releases the row locks: the held renames go on
        try:
            status = server.wait(timeout=GRACEFUL_TIMEOUT + 10)
            stopped_after = time.monotonic() - signalled
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            for client in slow + writers:
                client.close()
    server_log = log_path.read_text()

    assert failures == [], server_log
    assert status == 0, server_log
    assert stopped_after < GRACEFUL_TIMEOUT, server_log
    entries = [entry for client in slow + writers for entry in client.log]
    assert all("status" in e or "error" in e for e in entries), entries
    answered = [e for e in entries if "status" in e]
    assert [e for e in answered if not 200 <= e["status"] < 300] == [], server_log
    assert [client.log[1]["status"] for client in slow] == [200] * HELD
    assert sum(e["time"] < signalled for e in answered) > 2 * WRITERS  # a stream
    unanswered = [e for e in entries if "error" in e]
    assert all(e["time"] > signalled for e in unanswered), unanswered

    with admin.connect() as conn:
        rows = conn.execute(
            text("SELECT user_id, id::text, title FROM tasks WHERE user_id = ANY(:u)"),
            {"u": [client.user_id for client in slow + writers]},
        ).all()
    admin.dispose()
    titles = {task_id: title for _user, task_id, title in rows}
    created = {(user, title) for user, _task_id, title in rows}
    for client in slow + writers:
        for entry in client.log:
            if "status" not in entry and entry["method"] == "POST":
                # unanswered, so nobody knew its id to rename it: titles are unique
                assert (client.user_id, entry["title"]) not in created, entry
            elif "status" not in entry:
                assert titles[entry["id"]] != entry["title"], entry
            elif entry["method"] == "POST":
                assert entry["id"] in titles, entry
            else:  # each task has one writer: its last acknowledged title stays
                assert titles[entry["id"]] == entry["title"], entry
