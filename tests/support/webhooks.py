"""What the webhook tests share: registering a receiver, waiting for what it
received, a worker process that is always stopped at the end (killed if SIGTERM
does not stop it), the worker's memory, and a backlog queued in bulk."""

import contextlib
import signal
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from taskapi.config import database_url
from taskapi.core.db import get_engine
from tests.support.environment import TEST_DATABASE_URL
from tests.support.servers import wait_until
from tests.support.webhook_receiver import webhook_worker


def hook_up(user, receiver, events=None):
    """Register `receiver` as a webhook of `user`; its id. The receiver gets the
    secret to verify signatures with."""
    body = {"url": receiver.url, **({"events": events} if events else {})}
    response = user.post("/webhooks", json=body)
    assert response.status_code == 201, response.get_json()
    receiver.secret = response.get_json()["secret"]
    return response.get_json()["id"]


def received(receiver, count, logs, timeout=30):
    """The receiver's events once it has `count`; the test fails after `timeout` s."""
    return wait_until(
        lambda: len(receiver.events) >= count and list(receiver.events),
        timeout,
        message=lambda: f"{count} events; got {receiver.types()}\n{logs.read_text()}",
    )


@contextlib.contextmanager
def worker(database_uri, logs, **env):
    """tests.helpers.webhook_worker, ready (it has logged that it delivers), and
    sure to end: SIGTERM, then SIGKILL if it has not exited 15 s later, so a
    worker that ignores SIGTERM fails its test instead of outliving it."""
    with webhook_worker(database_uri, logs, **env) as process:
        try:
            wait_until(
                lambda: "delivering" in logs.read_text() or process.poll() is not None,
                30,
                message=lambda: logs.read_text(),
            )
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=30)


def rss_mib(pid: int) -> float:
    """A process's resident memory, in MiB (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def queue_copies(app, webhook_id: str, count: int) -> None:
    """`count` more pending events for the webhook, copies of its newest one each
    for a task of its own: what one batch over thousands of subtasks leaves,
    without spending minutes making them through the API."""
    with get_engine(app).begin() as conn:
        conn.execute(
            text("""
                INSERT INTO webhook_events
                    (event_id, webhook_id, task_id, type, task, remind_at,
                     created_at, attempts, next_attempt_at)
                SELECT gen_random_uuid(), e.webhook_id, gen_random_uuid(), e.type,
                       e.task, e.remind_at, e.created_at, 0, e.next_attempt_at
                FROM (SELECT * FROM webhook_events WHERE webhook_id = :webhook
                      ORDER BY id DESC LIMIT 1) AS e,
                     generate_series(1, :count) AS n
                ORDER BY n
            """),
            {"webhook": uuid.UUID(webhook_id), "count": count},
        )


def pending_events(app, webhook_id: str) -> list:
    """The webhook's undelivered events (id, event_id, attempts, seconds until
    the next attempt), oldest first."""
    with get_engine(app).connect() as conn:
        return conn.execute(
            text("""
                SELECT id, event_id, attempts,
                       extract(epoch FROM next_attempt_at - now()) AS due_in
                FROM webhook_events WHERE webhook_id = :webhook ORDER BY id
            """),
            {"webhook": uuid.UUID(webhook_id)},
        ).all()


@contextlib.contextmanager
def database_refusing_connections(database_uri):
    """The test database as during a restart: every connection to it cut, and
    new ones refused until the block ends."""
    name = make_url(database_uri).database
    admin = create_engine(database_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    refuse = f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'
    try:
        with admin.connect() as conn:
            conn.execute(text(refuse))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def at(seconds: float) -> str:
    """An RFC 3339 instant `seconds` from now (a reminder's `at`)."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")
