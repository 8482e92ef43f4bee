"""Where a request's CPU goes, layer by layer, in process, on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/layers.py [--requests 1000]

Serves the yardstick's four scenarios (list of 20, get, create, toggle) by calling
the WSGI apps directly (no server, no network): this app on a migrated database,
and the shared yardstick's bare-WSGI floor (../shared/bench/floor_wsgi.py) on a
database of its own. For each it prints the CPU time per request of this process
(the database's own CPU is not counted) and the floor's, then splits this app's
time by the package whose code ran (cProfile's own time per function, summed by
file), scaled to the unprofiled CPU time. Waiting on the database is left out.
"""

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

from in_process import ROOT, app_on_fresh_database, auth_headers, call
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.test import EnvironBuilder

from taskapi.config import database_url
from tests.support.users import SECRET

SCENARIOS = ("list", "get", "create", "toggle")
USER = "bench-layers"


def request_for(scenario: str, task_id: str) -> dict:
    """The WSGI environ of one request of the scenario, as load.py sends it."""
    return _builder(scenario, task_id).get_environ()


def requests(scenario: str, task_id: str, count: int) -> list[dict]:
    """`count` environs of the scenario: each can be served once (its body is read)."""
    return [request_for(scenario, task_id) for _ in range(count)]


def _builder(scenario: str, task_id: str) -> EnvironBuilder:
    headers = auth_headers(USER)
    path = f"/api/{USER}/tasks"
    if scenario == "list":
        return EnvironBuilder(path, query_string="page=1&per_page=20", headers=headers)
    if scenario == "get":
        return EnvironBuilder(f"{path}/{task_id}", headers=headers)
    if scenario == "create":
        body = {"title": "load task", "description": "created under load"}
        return EnvironBuilder(path, method="POST", json=body, headers=headers)
    return EnvironBuilder(f"{path}/{task_id}/complete", method="PATCH", headers=headers)


def seed(app) -> str:
    """40 tasks, as load.py seeds a user; the id of the first."""
    headers, ids = auth_headers(USER), []
    for i in range(40):
        body = {"title": f"task {i}", "description": "x" * 80}
        builder = EnvironBuilder(
            f"/api/{USER}/tasks",
            method="POST",
            json=body,
            headers=headers,
        )
        out = call(app, builder.get_environ())
        ids.append(json.loads(out)["id"])
    return ids[0]


def cpu_ms(app, environs) -> float:
    started = time.process_time()
    for environ in environs:
        call(app, environ)
    return (time.process_time() - started) / len(environs) * 1000


def layer_of(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "C builtins"
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    if "taskapi" in parts:
        return "taskapi"
    if "logging" in parts:
        return "logging (stdlib)"
    return "other stdlib"


def layers(app, environs) -> tuple[dict, float]:
    profile = cProfile.Profile()
    profile.enable()
    for environ in environs:
        call(app, environ)
    profile.disable()
    spent, waiting = defaultdict(float), 0.0
    for (filename, _, name), row in pstats.Stats(profile).stats.items():
        if name == "<method 'execute' of 'psycopg2.extensions.cursor' objects>":
            waiting += row[2]  # blocks on the database; not this process's CPU
            continue
        spent[layer_of(filename)] += row[2]
    return spent, waiting / len(environs) * 1000


def floor_app(server):
    """The yardstick's floor, on a database of its own."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS taskapi_bench_floor"))
        conn.execute(text("CREATE DATABASE taskapi_bench_floor"))
    url = server.set(database="taskapi_bench_floor", drivername="postgresql")
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    os.environ["JWT_SECRET"] = SECRET
    sys.path.insert(0, str(ROOT.parent / "shared" / "bench"))
    import floor_wsgi

    return floor_wsgi.app


def drop_floor(server) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS taskapi_bench_floor WITH (FORCE)"))


@contextlib.contextmanager
def app_and_floor(database: str):
    """This app on a fresh database and the floor on one of its own, each seeded
    as load.py seeds a user: (app, its first task, floor, its first task)."""
    server = make_url(database_url(os.environ["BENCH_DATABASE_URL"]))
    with app_on_fresh_database(database) as app:
        task = seed(app)
        floor = floor_app(server)
        yield app, task, floor, seed(floor)
    drop_floor(server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with app_and_floor("taskapi_bench_layers") as (app, task, floor, floor_task):
        print("scenario  app CPU ms  floor CPU ms  ratio  db wait ms (profiled)")
        tables = {}
        for scenario in SCENARIOS:
            cpu_ms(app, requests(scenario, task, 100))  # warm up
            cpu_ms(floor, requests(scenario, floor_task, 100))
            count = args.requests
            mine = cpu_ms(app, requests(scenario, task, count))
            base = cpu_ms(floor, requests(scenario, floor_task, count))
            spent, waiting = layers(app, requests(scenario, task, count))
            total = sum(spent.values())
            tables[scenario] = {k: v / total * mine for k, v in spent.items()}
            print(f"{scenario:8s}  {mine:10.3f}  {base:12.3f}  {mine / base:5.2f}  "
                  f"{waiting:8.3f}")  # fmt: skip
        names = sorted(
            {k for t in tables.values() for k in t},
            key=lambda k: -sum(t.get(k, 0) for t in tables.values()),
        )
        print("\nthis app's CPU ms per request, by layer (profile shares scaled)")
        print(f"{'layer':20s}" + "".join(f"{s:>9s}" for s in SCENARIOS))
        for name in names:
            row = "".join(f"{tables[s].get(name, 0):9.3f}" for s in SCENARIOS)
            print(f"{name:20s}{row}")


if __name__ == "__main__":
    main()
