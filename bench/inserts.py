"""What a create costs inside PostgreSQL: the INSERT with and without its
triggers and trigram indexes, and the inbox's last-position read with and
without ix_tasks_inbox_position (migration 0010).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/inserts.py [--rows 3000] [--tasks 400]

A plpgsql loop inserts `--rows` tasks, one statement each (so statement triggers
fire per row as for a request), in a transaction that is rolled back; each
variant drops what it leaves out inside that transaction. No client round trips:
this is the database's own time.
"""

import argparse
import os
import time

from in_process import app_on_fresh_database
from sqlalchemy import create_engine, text

from taskapi.config import database_url

LOOP = """
CREATE FUNCTION bench_insert(n int, owner text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    INSERT INTO tasks (id, user_id, title, description, completed, priority, tags,
                       created_at, updated_at, version, status, position)
    VALUES (gen_random_uuid(), owner, 'load task', 'created under load', false, 1,
            '[]', now(), now(), 1, 'pending', 'a' || lpad(i::text, 6, '0'));
  END LOOP;
END $$"""

VARIANTS = {
    "as migrated": [],
    "without its triggers": ["SET LOCAL session_replication_role = replica"],
    "without the trigram indexes": [
        "DROP INDEX ix_tasks_title_trgm",
        "DROP INDEX ix_tasks_description_trgm",
    ],
    # indexes an inbox task need not enter: subtasks', lists' and series' own
    "without three place indexes": [
        "DROP INDEX ix_tasks_parent_position",
        "DROP INDEX ix_tasks_user_list_position",
        "DROP INDEX ix_tasks_user_series",
    ],
}

LAST_POSITION = """EXPLAIN (ANALYZE, FORMAT JSON)
SELECT position FROM tasks WHERE user_id = 'inbox' AND deleted_at IS NULL
  AND list_id IS NULL AND parent_id IS NULL ORDER BY position DESC, id DESC LIMIT 1"""


def insert_us(conn, setup: list[str], rows: int) -> float:
    """Microseconds per INSERT inside PostgreSQL, rolled back afterwards."""
    with conn.begin() as transaction:
        for statement in setup:
            conn.execute(text(statement))
        started = time.perf_counter()
        conn.execute(text("SELECT bench_insert(:n, 'bench')"), {"n": rows})
        elapsed = time.perf_counter() - started
        transaction.rollback()
    return elapsed / rows * 1e6


def last_position_ms(conn, drop_index: bool) -> tuple[float, str]:
    """The last-position read's execution time and top plan node."""
    with conn.begin() as transaction:
        if drop_index:
            conn.execute(text("DROP INDEX ix_tasks_inbox_position"))
        plan = conn.execute(text(LAST_POSITION)).scalar()[0]
        transaction.rollback()
    nodes, node = [], plan["Plan"]
    while node:
        nodes.append(node["Node Type"])
        node = (node.get("Plans") or [None])[0]
    return plan["Execution Time"], " > ".join(nodes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--tasks", type=int, default=400, help="in the inbox read")
    args = parser.parse_args()
    with app_on_fresh_database("taskapi_bench_inserts"):
        # Not the app's engine: that one autocommits, and each variant must roll back.
        engine = create_engine(database_url(os.environ["DATABASE_URL"]))
        with engine.connect() as conn:
            with conn.begin():
                conn.execute(text(LOOP))
                conn.execute(
                    text("SELECT bench_insert(:n, 'inbox')"), {"n": args.tasks}
                )
            with conn.begin():
                conn.execute(text("ANALYZE tasks"))
            insert_us(conn, [], 200)  # warm up
            print(f"INSERT, {args.rows} rows, µs per row inside PostgreSQL")
            for name, setup in VARIANTS.items():
                print(f"  {name:30s} {insert_us(conn, setup, args.rows):7.1f}")
            print(f"last position in an inbox of {args.tasks} tasks (EXPLAIN ANALYZE)")
            for name, drop in (("with 0010's index", False), ("without it", True)):
                ms, plan = last_position_ms(conn, drop)
                print(f"  {name:30s} {ms:7.3f} ms  {plan}")
        engine.dispose()


if __name__ == "__main__":
    main()
