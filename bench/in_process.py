"""What the in-process benchmarks share (bench/sync.py, bench/agents.py,
bench/export.py...): a fresh, migrated PostgreSQL database with the app on it,
a user's tasks, requests straight to the WSGI app, a median timer and the
process's peak memory."""

import argparse
import contextlib
import json
import os
import resource
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
from tests.support.bulk import add_tasks, run_unbounded  # noqa: E402
from tests.support.users import SECRET, make_token  # noqa: E402


def auth_headers(user: str) -> dict:
    """A sign-in token's header for `user`: made once, outside timed loops."""
    return {"Authorization": f"Bearer {make_token(user, lifetime=3600)}"}


def answer(app, environ) -> tuple[bytes, dict]:
    """The app's whole answer to `environ`, which must be a 2xx: body, headers."""
    status = []
    body = b"".join(app(environ, lambda s, h: status.append((s, h))))
    assert status[0][0][0] == "2", (status, body[:300])
    return body, dict(status[0][1])


def call(app, environ) -> bytes:
    return answer(app, environ)[0]


def drain(app, environ) -> tuple[int, int]:
    """Read a streamed answer piece by piece, keeping none: (bytes, VEVENTs)."""
    status, size, events = [], 0, 0
    for piece in app(environ, lambda s, h: status.append(s)):
        size += len(piece)
        events += piece.count(b"BEGIN:VEVENT")
    assert status[0][0] == "2", status
    return size, events


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def add_dated_tasks(engine, user: str, count: int, tag: str, description: str):
    """`count` tasks of the user's, each due some time in the coming year, tagged
    "bench" and `tag`, with `description`."""
    add_tasks(engine, user, count)
    run_unbounded(
        engine,
        "UPDATE tasks SET due_date = now() + random() * interval '365 days',"
        " tags = CAST(:tags AS jsonb), description = :description"
        " WHERE user_id = :user",
        tags=json.dumps(["bench", tag]),
        description=description,
        user=user,
    )


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def app_on_fresh_database(name: str):
    """The app on database `name`, made (and dropped after) on BENCH_DATABASE_URL's
    server and migrated as a deploy does, with a rate limit out of the way."""
    server = make_url(database_url(os.environ["BENCH_DATABASE_URL"]))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = server.set(database=name).render_as_string(hide_password=False)
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
    try:
        yield app
    finally:
        app.extensions["sqlalchemy_engine"].dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))


def each_size_apart(script: str, one_size, sizes, *, repeat: int, description: str):
    """A benchmark's main() over several sizes: with `--tasks N`, measure that size
    here and print its result (JSON); without, run `script` once per size, each in
    a process of its own (peak RSS only grows), and return their results in order
    (an empty list in the child)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--tasks", type=int, help="one size, in this process")
    args = parser.parse_args()
    if args.tasks:
        print(json.dumps(one_size(args.tasks, args.repeat)))
        return []
    results = []
    for size in sizes:
        done = subprocess.run(
            [sys.executable, script, "--tasks", str(size),
             "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results.append(json.loads(done.stdout))
    return results
