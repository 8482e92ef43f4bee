"""What the in-process benchmarks share (bench/sync.py, bench/agents.py): a fresh,
migrated PostgreSQL database with the app on it, and a median timer."""

import contextlib
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
from tests.support.users import SECRET  # noqa: E402


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
