"""Is the tail the app's? Each request's wall time in process, for this app and
the shared floor, with no server and no other request in flight, and the part
the garbage collector took.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/spread.py [--scenario get] [--requests 5000]

If the app's p99/p50 here is the floor's, a wider spread under load (compare.sh's
`tail:` line) comes from how the server runs requests side by side, not from
requests that are slow on their own. The app is frozen out of the collector's
passes first, as gunicorn's `when_ready` does (gunicorn.conf.py).
"""

import argparse
import gc
import time
from collections import Counter

from in_process import call
from layers import SCENARIOS, app_and_floor, requests

collections = []  # (phase, generation, time) of the collector's passes


def on_collection(phase: str, info: dict) -> None:
    collections.append((phase, info["generation"], time.perf_counter()))


def timed(app, environs) -> list[tuple[float, int, float]]:
    """Per request: wall ms, the oldest generation collected (-1: none), and
    the ms the collector took."""
    out = []
    for environ in environs:
        collections.clear()
        started = time.perf_counter()
        call(app, environ)
        wall = (time.perf_counter() - started) * 1000
        collected = [g for phase, g, _ in collections if phase == "start"]
        starts = [t for phase, _, t in collections if phase == "start"]
        stops = [t for phase, _, t in collections if phase == "stop"]
        in_gc = sum(b - a for a, b in zip(starts, stops, strict=False)) * 1000
        out.append((wall, max(collected, default=-1), in_gc))
    return out


def report(name: str, runs: list[tuple[float, int, float]]) -> None:
    walls = sorted(wall for wall, _, _ in runs)

    def q(f):
        return walls[int(f * (len(walls) - 1))]

    slow = [r for r in runs if r[0] >= q(0.99)]
    print(
        f"{name:6s} p50 {q(0.5):.3f} ms  p90 {q(0.9):.3f}  p99 {q(0.99):.3f}  "
        f"max {walls[-1]:.2f}  p99/p50 {q(0.99) / q(0.5):.2f}"
    )
    print(
        f"       collections (oldest generation: requests) all "
        f"{dict(Counter(g for _, g, _ in runs if g >= 0))}, in the slowest 1% "
        f"{dict(Counter(g for _, g, _ in slow if g >= 0))}; collector "
        f"{sum(r[2] for r in runs):.1f} ms in all"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=SCENARIOS, default="get")
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    with app_and_floor("taskapi_bench_spread") as (app, task, floor, floor_task):
        timed(app, requests(args.scenario, task, 300))  # warm up
        timed(floor, requests(args.scenario, floor_task, 300))
        gc.collect()
        gc.freeze()
        gc.callbacks.append(on_collection)
        count = args.requests
        print(f"{args.scenario}, {count} requests each, one at a time")
        report("app", timed(app, requests(args.scenario, task, count)))
        report("floor", timed(floor, requests(args.scenario, floor_task, count)))


if __name__ == "__main__":
    main()
