"""What GET /export costs for a user with 10,000 and 100,000 tasks, in process
on PostgreSQL, and how the process's peak memory grows with the document; and
what POST /import of a 10,000-task document costs.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/export.py [--repeat 3]

Each size runs in a process of its own (peak RSS, resource.getrusage, only
grows): one app on a fresh migrated database, one user with N tasks (tags, a
description, a due date). The export is read through the WSGI app piece by
piece, as a server sends it, keeping none; the memory figure is the peak RSS
after reading it twice, less the peak before the first read. The import takes
the first 10,000 tasks of the export (its limit) into another user's account.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from calendar_feeds import drain, peak_kib
from in_process import app_on_fresh_database, median_ms
from werkzeug.test import EnvironBuilder

from taskapi.core.db import get_engine
from tests.support.bulk import add_tasks, run_unbounded
from tests.support.users import make_token

USER, IMPORTER = "bench-export", "bench-import"


def headers(user: str) -> dict:
    return {"Authorization": f"Bearer {make_token(user, lifetime=3600)}"}


def one_size(tasks: int, repeat: int) -> dict:
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  the request log goes nowhere
    with app_on_fresh_database(f"bench_export_{tasks}") as app:
        engine = get_engine(app)
        add_tasks(engine, USER, tasks)
        run_unbounded(
            engine,
            "UPDATE tasks SET due_date = now() + random() * interval '365 days',"
            ' tags = \'["bench", "export"]\','
            " description = 'A description, with some text' WHERE user_id = :user",
            user=USER,
        )

        def export() -> tuple[int, int]:
            environ = EnvironBuilder("/api/export", headers=headers(USER))
            return drain(app, environ.get_environ())

        export()  # warm: the first request imports and compiles
        before = peak_kib()
        size, _events = export()
        export()
        grown = peak_kib() - before
        result = {
            "tasks": tasks,
            "document_bytes": size,
            "peak_rss_growth_kib": grown,
            "export_ms": median_ms(export, repeat),
        }
        if tasks >= 10_000:
            result["import_10000_ms"] = import_ms(app)
        return result


def import_ms(app) -> float:
    """One import of 10,000 of the user's tasks into an empty account."""
    environ = EnvironBuilder("/api/export", headers=headers(USER)).get_environ()
    document = json.loads(b"".join(app(environ, lambda s, h: None)))
    document["tasks"] = document["tasks"][:10_000]
    builder = EnvironBuilder(
        "/api/import", method="POST", json=document, headers=headers(IMPORTER)
    )
    status = []
    start = time.perf_counter()
    body = b"".join(app(builder.get_environ(), lambda s, h: status.append(s)))
    elapsed = (time.perf_counter() - start) * 1000
    assert status[0][0] == "2", (status, body[:300])
    return round(elapsed, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, help="one size, in this process")
    args = parser.parse_args()
    if args.tasks:
        print(json.dumps(one_size(args.tasks, args.repeat)))
        return
    results = []
    for size in (10_000, 100_000):
        done = subprocess.run(
            [sys.executable, __file__, "--tasks", str(size),
             "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results.append(json.loads(done.stdout))
        print(json.dumps(results[-1]))
    small, large = results
    print(
        json.dumps(
            {
                "time_100k_to_10k": round(large["export_ms"] / small["export_ms"], 1),
                "rss_growth_100k_minus_10k_kib": large["peak_rss_growth_kib"]
                - small["peak_rss_growth_kib"],
            }
        )
    )


if __name__ == "__main__":
    main()
