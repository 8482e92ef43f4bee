"""What the change feed and batches cost, in process, on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/sync.py [--rounds 5]

Creates (and drops) a database `taskapi_bench_sync` on that server, migrates it,
and calls the app in process (Flask's test client, no server, no network), for a
user with 1,000 tasks:

- an empty poll (nothing changed since the cursor), and its statements;
- a page of 100 changed tasks;
- a batch of 100 creates against 100 single POST /tasks, and their ratio.

Medians per round; figures only, nothing here asserts a speed.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from taskapi.config import database_url  # noqa: E402
from tests.helpers import SECRET, User, sent_statements  # noqa: E402

DATABASE = "taskapi_bench_sync"


def timed(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = make_url(database_url(os.environ["BENCH_DATABASE_URL"]))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    url = server.set(database=DATABASE).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "BETTER_AUTH_SECRET": SECRET}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    os.environ.update(
        DATABASE_URL=url, BETTER_AUTH_SECRET=SECRET, API_RATE_LIMIT="1000000/minute"
    )
    from taskapi import create_app

    app = create_app()
    user = User(app.test_client(), "bench-sync", prefix="/api")
    for n in range(9):
        user.post("/tasks/batch", json={"operations": [
            {"op": "create", "body": {"title": f"t{n}-{i}"}} for i in range(100)
        ]})  # fmt: skip
    cursor = None
    while True:
        page = user.get(f"/changes?limit=500{'&cursor=' + cursor if cursor else ''}")
        body = page.get_json()
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    before_100 = cursor
    for i in range(100):
        user.post("/tasks", json={"title": f"changed {i}"})
    page = user.get(f"/changes?limit=100&cursor={before_100}").get_json()
    assert len(page["tasks"]) == 100, len(page["tasks"])
    empty = user.get(f"/changes?cursor={page['cursor']}").get_json()
    assert empty["tasks"] == [] and not empty["has_more"]
    with sent_statements(app) as sent:
        user.get(f"/changes?cursor={page['cursor']}")
    print(f"empty poll: {len(sent)} statement(s)")

    creates = [{"op": "create", "body": {"title": f"b{i}"}} for i in range(100)]
    print("round  empty poll ms  100-task page ms", end="")
    print("  batch of 100 ms  100 POSTs ms  ratio")
    for round_ in range(args.rounds):
        poll = timed(lambda: user.get(f"/changes?cursor={page['cursor']}"), 200)
        full = timed(lambda: user.get(f"/changes?limit=100&cursor={before_100}"), 30)
        batch = timed(
            lambda: user.post("/tasks/batch", json={"operations": creates}), 5
        )

        def singles():
            for op in creates:
                user.post("/tasks", json=op["body"])

        one_by_one = timed(singles, 5)
        print(
            f"{round_ + 1:5}  {poll:13.2f}  {full:16.2f}  {batch:15.1f}  "
            f"{one_by_one:12.1f}  {batch / one_by_one:5.2f}"
        )
    with admin.connect() as conn:
        app.extensions["sqlalchemy_engine"].dispose()
        conn.execute(text(f"DROP DATABASE {DATABASE}"))


if __name__ == "__main__":
    main()
