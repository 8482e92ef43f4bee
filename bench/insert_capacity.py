"""How many creates PostgreSQL itself can take under concurrency: pgbench runs the
app's own INSERT (the append position computed inside it, as tasks/service.py
sends it) from `--clients` connections for 50 users, against the migrated schema
and against it with each trigger switched off, all triggers off, and a copy of
the table with only a primary key and one index (what the yardstick's peer
inserts into, with no position to find). Inserts per second, each variant
`--rounds` times, interleaved, and their median.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/insert_capacity.py [--clients 16] [--seconds 6]

Needs pgbench (PostgreSQL's server binaries, e.g. /usr/lib/postgresql/15/bin).
"""

import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import tempfile

from in_process import app_on_fresh_database
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from taskapi.config import database_url

INSERT = """\\set u random(1, 50)
INSERT INTO {table} (id, user_id, created_by, changed_by, title, description, status,
  completed, priority, tags, created_at, updated_at, version, position)
VALUES (gen_random_uuid(), 'user' || :u, 'user' || :u, 'user' || :u, 'load task',
  'created under load', 'pending', false, 1, '[]', now(), now(), 1,
  task_position_after((SELECT position FROM {table} WHERE user_id = 'user' || :u
    AND deleted_at IS NULL AND list_id IS NULL AND parent_id IS NULL
    ORDER BY position DESC, id DESC LIMIT 1)))
RETURNING *;
"""
# the peer's INSERT: no position to find
PLAIN_INSERT = INSERT.split("  task_position_after")[0] + "'a0')\nRETURNING *;\n"
PLAIN = """CREATE TABLE plain_tasks (LIKE tasks INCLUDING DEFAULTS);
ALTER TABLE plain_tasks ADD PRIMARY KEY (id);
CREATE INDEX plain_tasks_user ON plain_tasks (user_id, created_at)"""
TRIGGERS = ("task_counts_insert", "tasks_change_xid", "webhook_events_insert")


def pgbench() -> str:
    found = shutil.which("pgbench") or sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pgbench")
    )
    if not found:
        raise SystemExit("pgbench not found: install PostgreSQL's server binaries")
    return found if isinstance(found, str) else found[-1]


def inserts_per_second(url, script, clients, seconds, options="") -> float:
    parts = make_url(url)
    env = {**os.environ, "PGOPTIONS": options}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    ran = subprocess.run(
        [pgbench(), "-n", "-c", str(clients), "-j", "2", "-T", str(seconds),
         "-f", script, "-h", parts.host or "127.0.0.1", "-p", str(parts.port or 5432),
         "-U", parts.username or "postgres", parts.database],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(re.search(r"tps = ([\d.]+)", ran.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with (
        app_on_fresh_database("taskapi_bench_capacity"),
        tempfile.TemporaryDirectory() as tmp,
    ):
        url = database_url(os.environ["DATABASE_URL"])
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in PLAIN.split(";"):
                conn.execute(text(statement))
        scripts = {}
        for table, sql in (("tasks", INSERT), ("plain_tasks", PLAIN_INSERT)):
            scripts[table] = os.path.join(tmp, f"{table}.sql")
            with open(scripts[table], "w") as script:
                script.write(sql.format(table=table))

        def toggled(trigger):
            def run():
                with engine.connect() as conn:
                    conn.execute(text(f"ALTER TABLE tasks DISABLE TRIGGER {trigger}"))
                try:
                    return measure(scripts["tasks"])
                finally:
                    with engine.connect() as conn:
                        conn.execute(
                            text(f"ALTER TABLE tasks ENABLE TRIGGER {trigger}")
                        )

            return run

        def measure(script, options=""):
            return inserts_per_second(url, script, args.clients, args.seconds, options)

        variants = {
            "as migrated": lambda: measure(scripts["tasks"]),
            "without its triggers": lambda: measure(
                scripts["tasks"], "-c session_replication_role=replica"
            ),
            **{f"without {name}": toggled(name) for name in TRIGGERS},
            "a copy with one index, no triggers": lambda: measure(
                scripts["plain_tasks"]
            ),
        }
        variants["as migrated"]()  # warm up: the caches, the table's first pages
        found = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                found[name].append(run())
        print(f"inserts/s, {args.clients} clients, {args.seconds} s per run")
        for name, rates in found.items():
            runs = " ".join(f"{rate:7.0f}" for rate in rates)
            print(f"  {name:36s} {runs}   median {statistics.median(rates):7.0f}")
        engine.dispose()


if __name__ == "__main__":
    main()
