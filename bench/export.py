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

import json
import os
import sys
import time

from in_process import (
    add_dated_tasks,
    app_on_fresh_database,
    auth_headers,
    call,
    drain,
    each_size_apart,
    median_ms,
    peak_kib,
)
from werkzeug.test import EnvironBuilder

from taskapi.core.db import get_engine

USER, IMPORTER = "bench-export", "bench-import"


def one_size(tasks: int, repeat: int) -> dict:
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  the request log goes nowhere
    with app_on_fresh_database(f"bench_export_{tasks}") as app:
        engine = get_engine(app)
        add_dated_tasks(engine, USER, tasks, "export", "A description, with some text")
        headers = auth_headers(USER)

        def export() -> tuple[int, int]:
            environ = EnvironBuilder("/api/export", headers=headers)
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
            result["import_10000_ms"] = import_ms(app, headers)
        return result


def import_ms(app, headers: dict) -> float:
    """One import of 10,000 of the user's tasks (`headers`: theirs) into an
    empty account."""
    environ = EnvironBuilder("/api/export", headers=headers).get_environ()
    document = json.loads(call(app, environ))
    document["tasks"] = document["tasks"][:10_000]
    builder = EnvironBuilder(
        "/api/import", method="POST", json=document, headers=auth_headers(IMPORTER)
    )
    start = time.perf_counter()
    call(app, builder.get_environ())
    return round((time.perf_counter() - start) * 1000, 1)


def main() -> None:
    results = each_size_apart(
        __file__, one_size, (10_000, 100_000), repeat=3,
        description=__doc__.splitlines()[0],
    )  # fmt: skip
    for result in results:
        print(json.dumps(result))
    if results:
        small, large = results
        print(
            json.dumps(
                {
                    "time_100k_to_10k": round(
                        large["export_ms"] / small["export_ms"], 1
                    ),
                    "rss_growth_100k_minus_10k_kib": large["peak_rss_growth_kib"]
                    - small["peak_rss_growth_kib"],
                }
            )
        )


if __name__ == "__main__":
    main()
