"""What webhooks cost: task writes with and without a registered webhook, and one
worker's delivery throughput.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/webhooks.py [--rounds 400]

Creates (and drops) a database `taskapi_bench_webhooks` on that server, migrates
it, and, in process through the test client (one thread, so the database's work
is what differs):

- writes: rounds of POST + PATCH by a user without a webhook, the same with the
  webhook triggers disabled (as before migration 0009), and by a user with a
  webhook (interleaved), median latency of each and their ratios;
- delivery: the events those writes left, delivered by one `deliver-webhooks`
  process (WEBHOOK_CONCURRENCY=8) to a receiver on loopback: events per second.

Figures only; nothing here asserts a speed.
"""

import argparse
import os
import statistics
import time
from pathlib import Path

from in_process import app_on_fresh_database
from sqlalchemy import text

from taskapi.core.db import get_engine
from tests.support.users import User
from tests.support.webhook_receiver import Receiver, webhook_worker

DATABASE = "taskapi_bench_webhooks"


def switch_triggers(engine, on: bool) -> None:
    action = "ENABLE" if on else "DISABLE"
    with engine.begin() as conn:
        for trigger in ("webhook_events_insert", "webhook_events_update"):
            conn.execute(text(f"ALTER TABLE tasks {action} TRIGGER {trigger}"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=400)
    rounds = parser.parse_args().rounds
    os.environ["APP_ENV"] = "testing"  # the receiver is on loopback
    with app_on_fresh_database(DATABASE) as app:
        client = app.test_client()
        plain, hooked = User(client, "bench-plain"), User(client, "bench-hooked")
        receiver = Receiver()
        response = hooked.post("/webhooks", json={"url": receiver.url})
        receiver.secret = response.get_json()["secret"]
        engine = get_engine(app)
        # "untriggered": the plain user with migration 0009's triggers off, i.e.
        # what a write cost before webhooks existed.
        arms = (("untriggered", plain), ("plain", plain), ("hooked", hooked))
        times = {name: [] for name, _ in arms}
        for number in range(rounds):
            for name, user in arms:
                switch_triggers(engine, on=name != "untriggered")
                start = time.perf_counter()
                created = user.post("/tasks", json={"title": f"T{number}"})
                renamed = user.patch(
                    f"/tasks/{created.get_json()['id']}", json={"title": "Renamed"}
                )
                times[name].append(time.perf_counter() - start)
                assert created.status_code == 201 and renamed.status_code == 200
        switch_triggers(engine, on=True)
        ms = {name: statistics.median(spent) * 1000 for name, spent in times.items()}
        print(f"POST+PATCH median, before webhooks: {ms['untriggered']:.2f} ms")
        print(f"POST+PATCH median, no webhook:      {ms['plain']:.2f} ms")
        print(f"POST+PATCH median, with webhook:    {ms['hooked']:.2f} ms")
        print(f"no webhook / before: {ms['plain'] / ms['untriggered']:.3f}")
        print(f"with webhook / no webhook: {ms['hooked'] / ms['plain']:.3f}")

        with engine.connect() as conn:
            pending = conn.execute(text("SELECT count(*) FROM webhook_events")).scalar()
        log = Path("/tmp") / f"{DATABASE}.log"
        start = time.perf_counter()
        url = engine.url.render_as_string(hide_password=False)
        with webhook_worker(url, log, WEBHOOK_CONCURRENCY=8):
            while len(receiver.events) < pending:
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
        print(
            f"delivery: {pending} events in {elapsed:.2f} s (worker start "
            f"included): {pending / elapsed:.0f} events/s"
        )
        receiver.close()


if __name__ == "__main__":
    main()
