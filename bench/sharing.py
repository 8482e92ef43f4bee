"""A member of 20 shared lists of 10,000 tasks each against a user who owns as
many tasks (200,000) themselves: page 1 of the listing, and an empty change-feed
poll, in process on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/sharing.py [--lists 20] [--tasks 10000] [--repeat 200]

The rows are loaded in SQL (each list of another owner, who has as many tasks in
their inbox again; the owner's tasks restored from deleted in one UPDATE, as the
100,000-task limit guards inserts), then analysed. Prints the median wall time
per request of each user, interleaved round by round, and the member's ratio.
"""

import argparse
import json
import logging
import statistics
import sys
import time

from in_process import answer, app_on_fresh_database, auth_headers
from sqlalchemy import text
from werkzeug.test import EnvironBuilder

from taskapi.core.db import get_engine
from taskapi.core.timeouts import lift_statement_timeout

MEMBER, OWNER = "bench-member", "bench-owner"

TASKS = """
INSERT INTO tasks (id, user_id, created_by, title, status, completed, priority, tags,
                   position, created_at, updated_at, deleted_at, version, list_id)
SELECT gen_random_uuid(), :user_id, :user_id, 'Bench ' || i, 'pending', false, i % 4,
       '[]', 'a' || lpad(i::text, 7, '0'), now() - i * interval '1 second',
       now() - i * interval '1 second', now(), 1, :list_id
FROM generate_series(1, :count) AS i"""


def load(app, lists: int, per_list: int) -> None:
    with get_engine(app).connect() as conn:
        conn = conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin():
            lift_statement_timeout(conn)
            for n in range(lists):
                owner, list_id = f"bench-owner-{n}", f"00000000-0000-4000-8000-{n:012d}"
                conn.execute(
                    text(
                        "INSERT INTO lists (id, user_id, name, name_key, created_at,"
                        " updated_at, version) VALUES (:id, :owner, 'L', 'l', now(),"
                        " now(), 1)"
                    ),
                    {"id": list_id, "owner": owner},
                )
                conn.execute(
                    text(
                        "INSERT INTO list_members (list_id, user_id, role, joined_at)"
                        " VALUES (:id, :member, 'editor', now())"
                    ),
                    {"id": list_id, "member": MEMBER},
                )
                for place in (list_id, None):
                    conn.execute(
                        text(TASKS),
                        {"user_id": owner, "list_id": place, "count": per_list},
                    )
            conn.execute(
                text(TASKS),
                {"user_id": OWNER, "list_id": None, "count": lists * per_list},
            )
            conn.execute(text("UPDATE tasks SET deleted_at = NULL"))
        conn.commit()
    with get_engine(app).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM (ANALYZE) tasks, lists, list_members, list_task_counts")
        )


def request(app, path: str, query: str, headers: dict):
    environ = EnvironBuilder(path, query_string=query, headers=headers).get_environ()
    return answer(app, environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("taskapi.request").disabled = True  # the request log goes nowhere
    with app_on_fresh_database("bench_sharing") as app:
        load(app, args.lists, args.tasks)
        headers = {user: auth_headers(user) for user in (MEMBER, OWNER)}
        cursors = {}
        for user in (MEMBER, OWNER):
            cursor = ""
            while True:  # follow the feed to its end: the next poll is empty
                query = f"limit=500&cursor={cursor}" if cursor else "limit=500"
                body, _ = request(app, "/api/changes", query, headers[user])
                page = json.loads(body)
                cursor = page["cursor"]
                if not page["has_more"]:
                    break
            cursors[user] = cursor
        scenarios = {
            "page 1": lambda user: request(
                app, "/api/tasks", "per_page=50", headers[user]
            ),
            "empty poll": lambda user: request(
                app, "/api/changes", f"cursor={cursors[user]}", headers[user]
            ),
        }
        for name, call in scenarios.items():
            _, answered = call(MEMBER)
            times = {MEMBER: [], OWNER: []}
            for _ in range(args.repeat):
                for user in (MEMBER, OWNER):
                    started = time.perf_counter()
                    call(user)
                    times[user].append((time.perf_counter() - started) * 1000)
            member, owner = (statistics.median(times[u]) for u in (MEMBER, OWNER))
            print(
                f"{name}: member {member:.2f} ms, owner {owner:.2f} ms, "
                f"member/owner {member / owner:.2f}"
                + (
                    f" (total {answered.get('X-Total-Count')})"
                    if "Total" in str(answered)
                    else ""
                ),
                file=sys.__stdout__,
            )


if __name__ == "__main__":
    main()
