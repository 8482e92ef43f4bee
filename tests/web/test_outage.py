"""The database goes away under a running server and comes back.

The Procfile's own lines start the service (release, then web: gunicorn with
gunicorn.conf.py) on a PostgreSQL cluster made for this test alone, so stopping it
disturbs no other test. While clients keep writing, the cluster is killed and
restarted: every answer is a success or a 503 with Retry-After (never a 500), no
worker dies, the service recovers without a restart, and every write that was
acknowledged is still there.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.environment import ROOT
from tests.support.servers import free_port, wait_until
from tests.support.users import SECRET, bearer, make_token, new_user_id

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.no_pgbouncer("it stops and starts a cluster of its own"),
]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


@pytest.fixture
def server(cluster, tmp_path):
    """The Procfile's release line, then its web line, as a PaaS would run them."""
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "APP_ENV": "production",
        "DATABASE_URL": cluster.url,
        "BETTER_AUTH_SECRET": SECRET,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
        # the writers and the final reads are one user's, and a fast machine
        # could spend the default budget: the outage, not the limit, is tested
        "API_RATE_LIMIT": "1000000/minute",
    }
    lines = procfile()
    release = subprocess.run(
        lines["release"], shell=True, cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert release.returncode == 0, release.stderr
    with open(tmp_path / "web.log", "w") as log:
        web = subprocess.Popen(
            "exec " + lines["web"], shell=True, cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up():
        assert web.poll() is None, (tmp_path / "web.log").read_text()
        return call(base + "/health")[0] == 200 and len(worker_pids(web.pid)) >= 2

    wait_until(up, 60, interval=0.2, message="gunicorn up with 2 workers")
    yield base, web, tmp_path / "web.log"
    web.send_signal(signal.SIGTERM)
    web.wait(timeout=30)


def call(url, method="GET", body=None, token=None):
    """(status, headers, parsed JSON body or None); (0, ..) when nothing answered."""
    headers = bearer(token) if token else {}
    request = urllib.request.Request(url, method=method, headers=headers)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data, timeout=20) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    except OSError:
        return 0, {}, None
    try:
        return status, headers, json.loads(raw) if raw else None
    except ValueError:
        return status, headers, raw  # not JSON: the assertions will say so


def worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text()
    return set(map(int, children.split()))


class Writers:
    """Clients creating tasks and listing them, nonstop, in threads."""

    def __init__(self, base, count=4):
        self.base = base
        self.user_id = new_user_id("writer")
        self.token = make_token(self.user_id, lifetime=3600)
        self.acknowledged = []  # task ids answered 201
        self.answers = []  # (time, method, status, has Retry-After, body)
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self.work, args=(n,)) for n in range(count)
        ]

    def work(self, number):
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            if sequence % 3:
                status, headers, body = call(
                    self.base + "/api/tasks", "POST",
                    {"title": f"writer {number} task {sequence}"}, self.token,
                )  # fmt: skip
                if status == 201 and isinstance(body, dict):
                    self.acknowledged.append(body["id"])
                method = "POST"
            else:
                status, headers, body = call(
                    self.base + "/api/tasks?per_page=5", token=self.token
                )
                method = "GET"
            self.answers.append(
                (time.monotonic(), method, status, "Retry-After" in headers, body)
            )
            time.sleep(0.01)  # a steady load, not a busy loop

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def test_a_database_outage_answers_503_and_the_service_recovers_by_itself(
    cluster, server
):
    base, web, log_path = server
    workers = worker_pids(web.pid)
    assert len(workers) == 2

    with Writers(base) as writers:
        wait_until(lambda: len(writers.acknowledged) >= 20, 30)
        cluster.kill()
        killed_at = time.monotonic()
        before_outage = set(writers.acknowledged)
        wait_until(lambda: sum(1 for a in writers.answers if a[2] == 503) >= 20, 30)
        # During the outage: liveness stays up, readiness says 503 with Retry-After.
        assert call(base + "/health")[0] == 200
        ready_status, ready_headers, ready_body = call(base + "/health/ready")
        assert ready_status == 503
        assert ready_headers["Retry-After"] == "5"
        assert ready_body["status"] == 503

        cluster.start()
        restarted_at = time.monotonic()
        wait_until(lambda: call(base + "/health/ready")[0] == 200, 30, interval=0.1)
        recovered = len(writers.acknowledged)
        wait_until(lambda: len(writers.acknowledged) >= recovered + 20, 30)

    allowed = {("POST", 201), ("POST", 503), ("GET", 200), ("GET", 503)}
    odd = [a for a in writers.answers if (a[1], a[2]) not in allowed]
    assert not odd, odd[:5]
    assert all(isinstance(a[4], (dict, list)) for a in writers.answers)
    outage_answers = [a for a in writers.answers if a[2] == 503]
    assert all(has_retry_after for _, _, _, has_retry_after, _ in outage_answers)
    assert all(body["status"] == 503 for *_, body in outage_answers)
    assert any(killed_at <= a[0] <= restarted_at for a in outage_answers)

    # Every write acknowledged (before, during or after the outage) is there.
    assert before_outage <= set(writers.acknowledged)
    for task_id in writers.acknowledged:
        status, _, task = call(f"{base}/api/tasks/{task_id}", token=writers.token)
        assert status == 200, task_id
        assert task["user_id"] == writers.user_id

    # No worker died or was replaced, and nothing answered 500.
    assert worker_pids(web.pid) == workers
    assert web.poll() is None
    log = log_path.read_text()
    assert "Worker exiting" not in log and "WORKER TIMEOUT" not in log
    assert log.count("Booting worker") == 2
    requests = [
        json.loads(line)
        for line in log.splitlines()
        if line.startswith("{") and '"taskapi.request"' in line
    ]
    assert requests and all(line["status"] != 500 for line in requests)
    assert any(line["status"] == 503 for line in requests)
