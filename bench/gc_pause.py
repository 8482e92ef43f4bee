"""What a full garbage collection costs a worker, before and after gunicorn's
`when_ready` freezes the preloaded app (gunicorn.conf.py): the objects the
loaded app holds, and the median time of a full `gc.collect()` over them.

    .venv/bin/python bench/gc_pause.py [--repeat 5]

Loads the app as `wsgi:app` with APP_ENV=development (SQLite, nothing served).
"""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def full_collection_ms(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("APP_ENV", "development")
    os.chdir(ROOT)
    import wsgi  # noqa: F401  the app, loaded as gunicorn's master preloads it

    print(f"objects tracked by the collector: {len(gc.get_objects()):,}")
    print(f"full collection, as loaded: {full_collection_ms(args.repeat):.1f} ms")
    gc.freeze()
    frozen_us = full_collection_ms(args.repeat) * 1000
    print(f"full collection, frozen:    {frozen_us:.1f} µs")


if __name__ == "__main__":
    main()
