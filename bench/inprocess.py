"""CPU time per request of two checkouts, in process, interleaved (bench/inprocess).

Each checkout's app runs in its own process and is called as a WSGI app, one request at
a time, with no server and no network: what is measured is the app's own CPU time per
request (the database's is not counted). The two processes take turns, batch after
batch, so that drift in the machine's speed hits both alike; the result is the median
of the per-round ratios B/A, with their range.

    python bench/inprocess.py A_DIR B_DIR --database-url URL [--rounds N] [--requests N]
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time

SCENARIOS = ("list", "get", "create", "toggle")
SECRET = "bench-secret-bench-secret-bench-secret-0123"


def serve(checkout: str) -> None:
    """Worker: builds the checkout's app, then answers `SCENARIO N` lines on stdin
    with the CPU microseconds per request and the number of non-2xx answers."""
    os.environ.update(BETTER_AUTH_SECRET=SECRET, API_RATE_LIMIT="1000000000/minute")
    sys.path.insert(0, checkout)
    os.chdir(checkout)
    import jwt

    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  the access log goes nowhere
    from wsgi import app

    user = f"inprocess-{os.getpid()}"
    token = jwt.encode({"sub": user, "exp": int(time.time()) + 86400}, SECRET, "HS256")
    statuses = []

    def call(method, path, query="", body=b""):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "bench",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json" if body else "",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "REMOTE_ADDR": "127.0.0.1",
        }
        return b"".join(
            app(environ, lambda status, headers, exc=None: statuses.append(status))
        )

    task = json.loads(call("POST", f"/api/{user}/tasks", body=b'{"title": "first"}'))
    for i in range(40):  # the page of the list scenario is full, as in compare.sh
        call(
            "POST",
            f"/api/{user}/tasks",
            body=json.dumps({"title": f"task {i}"}).encode(),
        )
    requests = {
        "list": ("GET", f"/api/{user}/tasks", "page=1&per_page=20"),
        "get": ("GET", f"/api/{user}/tasks/{task['id']}"),
        "create": ("POST", f"/api/{user}/tasks", "", b'{"title": "load task"}'),
        "toggle": ("PATCH", f"/api/{user}/tasks/{task['id']}/complete"),
    }
    for request in requests.values():  # warm: statement caches, token memory
        for _ in range(200):
            call(*request)
    print("ready", flush=True)
    for line in sys.stdin:
        scenario, count = line.split()
        statuses.clear()
        started = time.process_time()
        for _ in range(int(count)):
            call(*requests[scenario])
        spent = time.process_time() - started
        failed = sum(not status.startswith("2") for status in statuses)
        print(f"{spent / int(count) * 1e6:.1f} {failed}", flush=True)


def compare(args) -> None:
    env = dict(os.environ, DATABASE_URL=args.database_url)
    workers = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--serve", checkout],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, checkout in (("A", args.a), ("B", args.b))
    }
    for name, worker in workers.items():
        if worker.stdout.readline().strip() != "ready":
            sys.exit(f"checkout {name} did not start")
    times = {}
    for round_ in range(args.rounds):
        for scenario in SCENARIOS:
            for name in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
                worker = workers[name]
                worker.stdin.write(f"{scenario} {args.requests}\n")
                worker.stdin.flush()
                microseconds, failed = worker.stdout.readline().split()
                if failed != "0":
                    sys.exit(f"checkout {name}: {failed} non-2xx answers in {scenario}")
                times.setdefault((scenario, name), []).append(float(microseconds))
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()
    print(f"A: {args.a}\nB: {args.b}\n{args.rounds} rounds x {args.requests} requests")
    for scenario in SCENARIOS:
        a, b = times[scenario, "A"], times[scenario, "B"]
        ratios = [y / x for x, y in zip(a, b, strict=True)]
        print(
            f"{scenario:7s} A {statistics.median(a):6.0f} us"
            f"  B {statistics.median(b):6.0f} us"
            f"  B/A {statistics.median(ratios):.2f}"
            f" ({min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("a")
        parser.add_argument("b")
        parser.add_argument("--database-url", required=True)
        parser.add_argument("--rounds", type=int, default=10)
        parser.add_argument("--requests", type=int, default=300)
        compare(parser.parse_args())
