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

from in_process import app_on_fresh_database, median_ms

from tests.support.users import User

DATABASE = "taskapi_bench_mcp"
ACCEPT = {"Accept": "application/json, text/event-stream"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with app_on_fresh_database(DATABASE) as app:
        run(app, args)


def run(app, args) -> None:
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
        rest_get = median_ms(lambda: user.get(f"/tasks/{task['id']}"), 300)
        mcp_get = median_ms(lambda: tool("get_task", {"task_id": task["id"]}), 300)
        rest_add = median_ms(lambda: user.post("/tasks", json={"title": "r"}), 200)
        mcp_add = median_ms(lambda: tool("add_task", {"title": "m"}), 200)
        print(
            f"{round_ + 1:5}  {rest_get:6.2f}  {mcp_get:11.2f}  "
            f"{mcp_get / rest_get:5.2f}  {rest_add:7.2f}  {mcp_add:11.2f}  "
            f"{mcp_add / rest_add:5.2f}"
        )


if __name__ == "__main__":
    main()
