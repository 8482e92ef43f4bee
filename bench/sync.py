"""What the change feed and batches cost, in process, on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/sync.py [--rounds 5]

Creates (and drops) a database `taskapi_bench_sync` on that server, migrates it,
and calls the app in process (Flask's test client, no server, no network), for a
user with 1,000 tasks:

- an empty poll (nothing changed since the cursor), and its statements;
- a page of 100 changed tasks;
- a batch of 100 creates against 100 single POST /tasks, and their ratio;
- GET /reminders for a day, for a user with 1,000 reminders over 10 days (100 in it).

Medians per round; figures only, nothing here asserts a speed.
"""

import argparse
from datetime import datetime, timedelta, timezone

from in_process import app_on_fresh_database, median_ms

from tests.support.sql import sent_statements
from tests.support.users import User

DATABASE = "taskapi_bench_sync"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with app_on_fresh_database(DATABASE) as app:
        run(app, args)


def run(app, args) -> None:
    user = User(app.test_client(), "bench-sync", prefix="/api")
    for n in range(9):
        user.post("/tasks/batch", json={"operations": [
            {"op": "create", "body": {"title": f"t{n}-{i}"}} for i in range(100)
        ]})  # fmt: skip
    cursor = None
    while True:
        page = user.get(f"/changes?limit=500{'&cursor=' + cursor if cursor else ''}")
        body = page.get_json()
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    before_100 = cursor
    for i in range(100):
        user.post("/tasks", json={"title": f"changed {i}"})
    page = user.get(f"/changes?limit=100&cursor={before_100}").get_json()
    assert len(page["tasks"]) == 100, len(page["tasks"])
    empty = user.get(f"/changes?cursor={page['cursor']}").get_json()
    assert empty["tasks"] == [] and not empty["has_more"]
    with sent_statements(app) as sent:
        user.get(f"/changes?cursor={page['cursor']}")
    print(f"empty poll: {len(sent)} statement(s)")

    reminded = User(app.test_client(), "bench-reminders", prefix="/api")
    start, every = datetime(2030, 1, 1, tzinfo=timezone.utc), timedelta(minutes=14.4)
    for n in range(10):
        reminded.post("/tasks/batch", json={"operations": [
            {"op": "create", "body": {
                "title": f"r{n}-{i}",
                "due_date": (start + every * (100 * n + i)).isoformat(),
                "reminders": [{"before": "PT1H"}],
            }} for i in range(100)
        ]})  # fmt: skip
    day = f"after={(start + timedelta(days=3)).isoformat()}".replace("+", "%2B")
    assert len(reminded.get(f"/reminders?{day}").get_json()) == 100

    creates = [{"op": "create", "body": {"title": f"b{i}"}} for i in range(100)]
    print("round  empty poll ms  100-task page ms", end="")
    print("  batch of 100 ms  100 POSTs ms  ratio  reminders for a day ms")
    for round_ in range(args.rounds):
        poll = median_ms(lambda: user.get(f"/changes?cursor={page['cursor']}"), 200)
        full = median_ms(
            lambda: user.get(f"/changes?limit=100&cursor={before_100}"), 30
        )
        batch = median_ms(
            lambda: user.post("/tasks/batch", json={"operations": creates}), 5
        )

        def singles():
            for op in creates:
                user.post("/tasks", json=op["body"])

        one_by_one = median_ms(singles, 5)
        reminders = median_ms(lambda: reminded.get(f"/reminders?{day}"), 100)
        print(
            f"{round_ + 1:5}  {poll:13.2f}  {full:16.2f}  {batch:15.1f}  "
            f"{one_by_one:12.1f}  {batch / one_by_one:5.2f}  {reminders:22.2f}"
        )


if __name__ == "__main__":
    main()
