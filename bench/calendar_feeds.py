"""What a calendar feed of 10,000 dated tasks costs against a listing page of
100, in process, on PostgreSQL; and how the process's peak memory grows with
the feed's size (1,000 against 10,000 tasks).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/calendar_feeds.py [--repeat 5]

Each size runs in a process of its own (peak RSS, resource.getrusage, only
grows): one app on a fresh migrated database, one user with N dated tasks
(tags, a description), a feed of theirs. Times the whole document read by
calling the WSGI app directly (no server, no network) and the listing's
first page of 100; the median of --repeat. The memory figure is the peak RSS
after reading the feed twice (piece by piece, as a server sends it), less the
peak before the first read.
"""

import json
import os
import sys

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

USER = "bench-calendar"


def one_size(tasks: int, repeat: int) -> dict:
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  the request log goes nowhere
    with app_on_fresh_database(f"bench_calendar_{tasks}") as app:
        engine = get_engine(app)
        description = "A description, with; some text"
        add_dated_tasks(engine, USER, tasks, "calendar", description)
        headers = auth_headers(USER)
        builder = EnvironBuilder(
            "/api/calendar-feeds", method="POST", json={}, headers=headers
        )
        url = json.loads(call(app, builder.get_environ()))["url"]
        feed_path = url.split("localhost", 1)[1]

        def feed() -> tuple[int, int]:
            return drain(app, EnvironBuilder(feed_path).get_environ())

        def listing() -> bytes:
            environ = EnvironBuilder(
                "/api/tasks", query_string="page=1&per_page=100", headers=headers
            ).get_environ()
            return call(app, environ)

        listing()
        before = peak_kib()
        size, events = feed()
        feed()
        grown = peak_kib() - before
        assert events == tasks
        return {
            "tasks": tasks,
            "feed_bytes": size,
            "peak_rss_growth_kib": grown,
            "feed_ms": median_ms(feed, repeat),
            "listing_100_ms": median_ms(listing, repeat),
        }


def main() -> None:
    results = each_size_apart(
        __file__, one_size, (1000, 10000), repeat=5,
        description=__doc__.splitlines()[0],
    )  # fmt: skip
    for result in results:
        result["feed_to_listing"] = round(
            result["feed_ms"] / result["listing_100_ms"], 1
        )
        print(json.dumps(result))


if __name__ == "__main__":
    main()
