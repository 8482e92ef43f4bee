"""Listing latency with 100,000 tasks against 100, through the real app on PostgreSQL.

Not a test: a measurement. It migrates a fresh database, bulk-loads one user with
--big tasks and another with --small (INSERT ... SELECT generate_series), runs
VACUUM (FREEZE, ANALYZE) (what autovacuum does in time), then times GET /api/tasks
through the Flask test client (the whole app: auth, schema, query, serialisation)
for each scenario and both users, and prints the median, the 95th percentile and
the big/small ratio. With --explain it also prints EXPLAIN (ANALYZE, BUFFERS) of the
statement each scenario ran.

    scripts/bench-listing                   # starts a throwaway PostgreSQL itself
    .venv/bin/python bench/listing.py --database-url postgresql://...  # an empty db
"""

import argparse
import statistics
import string
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from taskapi import create_app  # noqa: E402
from taskapi.config import TestingConfig, database_url  # noqa: E402
from taskapi.core.db import Session, get_engine  # noqa: E402

SECRET = "bench-secret-bench-secret-bench-secret-0123"
WORDS = [
    "buy", "milk", "call", "mum", "fix", "bike", "write", "report", "book",
    "dentist", "pay", "rent", "plan", "trip", "review", "code", "water", "plants",
    "clean", "garage", "email", "team", "renew", "passport", "café", "Überweisung",
]  # fmt: skip
TAGS = ["home", "work", "errands", "health", "money", "travel", "family", "urgent"]

SCENARIOS = {
    "page 1 (default sort)": "",
    "deep page (last page)": "page={last}",
    "filtered: open, high+urgent, by due date": (
        "completed=false&priority=high&priority=urgent&sort=due_date"
    ),
    "tag=errands&tag=family": "tag=errands&tag=family",
    "q=passport (1 task in 9)": "q=passport",
    "q=%234242 (rare)": "q=%234242",
    "sort=title": "sort=title",
    "sort=-due_date": "sort=-due_date",
}

# fractional-indexing's digits, in the C collation's order
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

LOAD = """
INSERT INTO tasks (id, user_id, title, description, completed, completed_at,
                   priority, due_date, tags, created_at, updated_at, version, position,
                   status)
SELECT gen_random_uuid(), :user_id,
       initcap(w[1 + (i * 7) % n]) || ' ' || w[1 + (i * 13) % n] || ' #' || i,
       CASE WHEN i % 3 = 0 THEN NULL
            ELSE 'Remember to ' || w[1 + (i * 17) % n] || ' the ' || w[1 + (i * 5) % n]
                 || ' before the ' || w[1 + (i * 11) % n] || '.' END,
       i % 5 < 2,
       CASE WHEN i % 5 < 2 THEN now() END,
       i % 4,
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE now() + ((i * 37) % 720 - 360) * interval '1 day' END,
       jsonb_build_array(t[1 + i % m], t[1 + (i * 3) % m]),
       now() - (i * interval '7 minutes'),
       now() - (i * interval '5 minutes'),
       1,
       -- fractional-indexing keys in creation order: 'c' and three base-62 digits
       'c' || substr(d, 1 + i / 3844 % 62, 1) || substr(d, 1 + i / 62 % 62, 1)
           || substr(d, 1 + i % 62, 1),
       CASE WHEN i % 5 < 2 THEN 'completed' ELSE 'pending' END
FROM generate_series(1, :count) AS i,
     (SELECT CAST(:words AS text[]) AS w, CAST(:n AS int) AS n,
             CAST(:tags AS text[]) AS t, CAST(:m AS int) AS m,
             CAST(:digits AS text) AS d)
         AS vocabulary
"""


class BenchConfig(TestingConfig):
    def __init__(self, instance_path="instance"):
        super().__init__(instance_path)
        self.SQLALCHEMY_DATABASE_URI = BenchConfig.url
        self.JWT_SECRET_KEY = SECRET
        self.DATABASE_STATEMENT_TIMEOUT = 0  # loading 100,000 tasks takes longer


def fresh_database(server_url: str, name: str) -> str:
    server = make_url(database_url(server_url))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def load(engine, user_id: str, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(LOAD),
            {
                "user_id": user_id,
                "count": count,
                "words": WORDS,
                "n": len(WORDS),
                "tags": TAGS,
                "m": len(TAGS),
                "digits": BASE62,
            },
        )


def token(user_id: str) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + 3600}, SECRET)


def timed(client, url, headers, repeat):
    for _ in range(3):  # warm-up: connection pool, plan cache, buffer cache
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], response


def explain(engine, url, client, headers):
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM tasks" in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server")
    parser.add_argument("--database", default="taskapi_bench", help="(re)created")
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--drop-index", action="append", default=[], help="measure without it"
    )
    args = parser.parse_args()

    BenchConfig.url = fresh_database(args.database_url, args.database)
    app = create_app(BenchConfig)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = get_engine(app)
    assert engine.dialect.name == "postgresql", "the benchmark is for PostgreSQL"

    users = {"small": args.small, "big": args.big}
    started = time.perf_counter()
    for user_id, count in users.items():
        load(engine, user_id, count)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in args.drop_index:
            conn.exec_driver_sql(f"DROP INDEX {name}")
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        cursor = raw.cursor()
        # The first pass right after the load leaves the pages not all-visible
        # (the loading transaction is not yet older than the cutoff); the second
        # sets them, as autovacuum's later passes would on a live database.
        for _ in range(2):
            cursor.execute("VACUUM (FREEZE, ANALYZE) tasks")
        cursor.execute(
            "SELECT relallvisible, relpages FROM pg_class WHERE relname = 'tasks'"
        )
        visible = cursor.fetchone()
    finally:
        raw.close()
    elapsed = time.perf_counter() - started
    print(f"loaded {sum(users.values())} tasks in {elapsed:.1f} s")
    print(f"all-visible pages after VACUUM: {visible[0]} of {visible[1]}")
    print(f"indexes dropped for this run: {args.drop_index or 'none'}\n")

    client = app.test_client()
    print(f"{'scenario':44} {'user':>6} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}")
    for scenario, query in SCENARIOS.items():
        medians = {}
        for user_id, count in users.items():
            last = max(1, -(-count // args.per_page))
            url = f"/api/tasks?per_page={args.per_page}&{query.format(last=last)}"
            headers = {"Authorization": f"Bearer {token(user_id)}"}
            with app.app_context():
                median, p95, response = timed(client, url, headers, args.repeat)
                medians[user_id] = median
                ratio = f"{median / medians['small']:.2f}" if user_id == "big" else ""
                print(
                    f"{scenario:44} {user_id:>6} {median:10.2f} {p95:8.2f} {ratio:>6}"
                    f"   total={response.headers['X-Total-Count']}"
                )
                if args.explain:
                    plan = explain(engine, url, client, headers)
                    print("\n".join("      " + line for line in plan.splitlines()))
    Session.remove()
    engine.dispose()


if __name__ == "__main__":
    main()
