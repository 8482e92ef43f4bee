"""What an MCP tool call costs against the REST request it stands for, in process,
on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/agents.py [--rounds 5]

Creates (and drops) a database `taskapi_bench_mcp`, migrates it, and calls the app
through Flask's test client (no server, no network): `get_task` as one stateless
`tools/call` POST to /mcp against GET /api/tasks/<id>, and `add_task` against
POST /api/tasks. Medians per round and their ratios; figures only.
"""

import argparse
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
from tests.helpers import SECRET, User  # noqa: E402

DATABASE = "taskapi_bench_mcp"
ACCEPT = {"Accept": "application/json, text/event-stream"}


def timed(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = make_url(database_url(os.environ["BENCH_DATABASE_URL"]))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    url = server.set(database=DATABASE).render_as_string(hide_password=False)
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
    user = User(app.test_client(), "bench-mcp", prefix="/api")
    task = user.create(title="Bench")

    def tool(name, arguments):
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": name, "arguments": arguments}}  # fmt: skip
        answer = user.client.post("/mcp", json=body, headers={**user.headers, **ACCEPT})
        assert "error" not in answer.get_json() and answer.status_code == 200
        return answer

    tool("get_task", {"task_id": task["id"]})  # the worker's SDK loop starts here
    print("round  GET ms  get_task ms  ratio  POST ms  add_task ms  ratio")
    for round_ in range(args.rounds):
        rest_get = timed(lambda: user.get(f"/tasks/{task['id']}"), 300)
        mcp_get = timed(lambda: tool("get_task", {"task_id": task["id"]}), 300)
        rest_add = timed(lambda: user.post("/tasks", json={"title": "r"}), 200)
        mcp_add = timed(lambda: tool("add_task", {"title": "m"}), 200)
        print(
            f"{round_ + 1:5}  {rest_get:6.2f}  {mcp_get:11.2f}  "
            f"{mcp_get / rest_get:5.2f}  {rest_add:7.2f}  {mcp_add:11.2f}  "
            f"{mcp_add / rest_add:5.2f}"
        )
    with admin.connect() as conn:
        app.extensions["sqlalchemy_engine"].dispose()
        conn.execute(text(f"DROP DATABASE {DATABASE}"))


if __name__ == "__main__":
    main()
