"""What conditional writes and idempotency keys cost, through a real gunicorn.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/writes.py [--requests 300]

Creates (and drops) a database `taskapi_bench_writes` on that server, migrates it,
serves the app with gunicorn (2 workers x 10 threads) on a free loopback port, then:

- uncontended, one client: median latency of PATCH without and with If-Match, and
  of POST without and with Idempotency-Key, and their ratios;
- contended: 20 writers released together with one If-Match (how many 200/412),
  and 20 POSTs with one key (how many 201/409, how many tasks).

Figures only; nothing here asserts a speed.
"""

import argparse
import collections
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from taskapi.config import database_url  # noqa: E402
from tests.support.servers import LiveServer, free_port  # noqa: E402
from tests.support.users import SECRET  # noqa: E402

DATABASE = "taskapi_bench_writes"


def timed(calls: dict, count: int) -> dict:
    """Median latency (ms) of each call, interleaved so load drift hits all alike."""
    latencies = {name: [] for name in calls}
    for i in range(count):
        for name, call in calls.items():
            start = time.perf_counter()
            response = call(i)
            latencies[name].append(time.perf_counter() - start)
            assert response.status_code in (200, 201), response.data
    return {
        name: statistics.median(values) * 1000 for name, values in latencies.items()
    }


def race(calls):
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    server_url = make_url(database_url(os.environ["BENCH_DATABASE_URL"]))
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    url = server_url.set(database=DATABASE).render_as_string(hide_password=False)
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": url,
        "BETTER_AUTH_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True)
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers=2",
            "--worker-class=gthread",
            "--threads=10",
            f"--bind=127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        live = LiveServer("127.0.0.1", port)
        for _ in range(300):
            try:
                live.request("GET", "/health")
                break
            except OSError:
                time.sleep(0.1)
        run(live, args.requests)
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))


def run(live, count):
    user = live.user("bench")
    task = user.request("POST", "/tasks", json={"title": "Bench"})
    url = f"/tasks/{task.get_json()['id']}"
    other = user.request("POST", "/tasks", json={"title": "Bench, conditional"})
    other_url = f"/tasks/{other.get_json()['id']}"
    tag = [other.headers["ETag"]]

    def patch_plain(i):
        return user.request("PATCH", url, json={"title": f"plain {i}"})

    def patch_if_match(i):
        response = user.request(
            "PATCH",
            other_url,
            json={"title": f"cond {i}"},
            headers={"If-Match": tag[0]},
        )
        tag[0] = response.headers["ETag"]
        return response

    def post_plain(i):
        return user.request("POST", "/tasks", json={"title": f"p {i}"})

    def post_keyed(i):
        key = str(uuid.uuid4())
        return user.request(
            "POST", "/tasks", json={"title": f"k {i}"}, headers={"Idempotency-Key": key}
        )

    timed({"warm-up": patch_plain}, 20)  # both workers' pools
    figures = timed(
        {
            "PATCH": patch_plain,
            "PATCH + If-Match": patch_if_match,
            "POST": post_plain,
            "POST + Idempotency-Key": post_keyed,
        },
        count,
    )
    print(f"uncontended, {count} sequential requests of each, interleaved (median):")
    for name, ms in figures.items():
        print(f"  {name:<24} {ms:6.2f} ms")
    conditional = figures["PATCH + If-Match"] / figures["PATCH"]
    print(f"  If-Match / plain PATCH:       {conditional:.2f}x")
    print(
        "  keyed / plain POST:           "
        f"{figures['POST + Idempotency-Key'] / figures['POST']:.2f}x"
    )

    racer = live.user("race")
    created = racer.request("POST", "/tasks", json={"title": "Contended"})
    race_url = f"/tasks/{created.get_json()['id']}"
    start = time.perf_counter()
    responses = race(
        [
            lambda i=i: racer.request(
                "PATCH",
                race_url,
                json={"title": f"w{i}"},
                headers={"If-Match": created.headers["ETag"]},
            )
            for i in range(20)
        ]
    )
    elapsed = (time.perf_counter() - start) * 1000
    counts = collections.Counter(r.status_code for r in responses)
    print(f"20 writers, one If-Match: {dict(counts)} in {elapsed:.0f} ms")

    keyed = live.user("keyed")
    start = time.perf_counter()
    responses = race(
        [
            lambda: keyed.request(
                "POST",
                "/tasks",
                json={"title": "Once"},
                headers={"Idempotency-Key": "k"},
            )
            for _ in range(20)
        ]
    )
    elapsed = (time.perf_counter() - start) * 1000
    counts = collections.Counter(r.status_code for r in responses)
    tasks = len(keyed.request("GET", "/tasks").get_json())
    print(f"20 POSTs, one key: {dict(counts)}, {tasks} task(s), in {elapsed:.0f} ms")


if __name__ == "__main__":
    main()
