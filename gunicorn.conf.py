"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (the Procfile's web line).

Reads `PORT` (default 5000) and `WEB_CONCURRENCY` (worker processes, default derived
from the CPU count). `GUNICORN_THREADS` sets the threads per worker (default 4);
`GUNICORN_PIN_WORKERS=0` leaves the workers unpinned (see pre_fork). The worker
model and its measurement are explained in the README's Operations section.
"""

import multiprocessing
import os
import sys


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name}={value!r} is not a whole number") from None
    if number < 1:
        raise SystemExit(f"{name} must be at least 1 (got {number})")
    return number


def _switch_env(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if value not in ("0", "1"):
        raise SystemExit(f"{name} must be 0 or 1 (got {value!r})")
    return value == "1"


bind = f"0.0.0.0:{_int_env('PORT', 5000)}"
# Each worker is a process with its own connection pool. The usual 2*CPUs+1 is for
# sync workers; threads cover the time a request waits on the database, so one
# process per CPU (at least 2, so one busy worker never stalls the service) is enough.
workers = _int_env("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count()))
# gthread, answering the requests gunicorn itself refuses (a request line or
# headers over the limits below, unparsable HTTP) with the contract's JSON error.
worker_class = "taskapi.gunicorn_worker.JSONErrorWorker"
threads = _int_env("GUNICORN_THREADS", 4)
pin_workers = _switch_env("GUNICORN_PIN_WORKERS", True)
# Build the app once in the master: a bad configuration (no secret, bad
# DATABASE_URL) stops the server with its message instead of looping on worker
# boots, and workers share the imported code copy-on-write.
preload_app = True
# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new
# connections evenly between them. With one shared socket, whichever worker wakes
# first accepts: a client's keep-alive connections, opened together, could all land
# on one worker and stay there, leaving the other CPU idle. Measured with 16 keep-alive
# connections and 2 workers: 376-955 req/s, in half the runs all 16 on one worker
# (~400 req/s); with reuse_port 660-1035 req/s, no worker ever left without any.
# (A second server started on the same port by the same user would share it too.)
reuse_port = True
timeout = 30
graceful_timeout = 20
keepalive = 5
# The app writes one JSON line per request to stderr (taskapi/logs.py);
# gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
# gunicorn's runtime control socket defaults to one path per user ($HOME/.gunicorn),
# which two servers on one machine would fight over; PaaS dynos have no use for it.
control_socket_disable = True
# gunicorn answers a header line longer than limit_request_field_size itself, with
# no CORS headers, so a browser cannot read it. At 128 KiB such requests reach the
# app, which answers with them: an Authorization header over 8 KiB is a 431, a bad
# token of any size a 401. Past 128 KiB gunicorn still refuses, so memory stays bounded.
limit_request_field_size = 128 * 1024
# The longest request line gunicorn will read with a bound (0 would read without
# one): room for a listing with many filters; past it a 414 from the worker above.
limit_request_line = 8190
# X-Forwarded-* is trusted from FORWARDED_ALLOW_IPS (gunicorn reads it; default
# 127.0.0.1). The API builds no absolute URLs, so PaaS routers need nothing more.


def pre_fork(server, worker):
    """Choose a CPU for the worker about to start: the one fewest live workers run on.

    A worker's threads hand Python's GIL to one another around every database call.
    Between threads on one core that hand-off is cheap; when the scheduler spreads
    them over cores, every hand-off wakes another core and the interpreter's state
    moves with it. Pinned, bench/workers measured a median 1.02-1.27x the requests/s
    per scenario and a lower p99 in 15 of 16 runs (README, "Workers: one CPU each").
    With more workers than CPUs, or GUNICORN_PIN_WORKERS=0, the kernel places them
    as usual."""
    if not pin_workers or not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if server.num_workers > len(cpus):
        return
    taken = [getattr(other, "cpu", None) for other in server.WORKERS.values()]
    worker.cpu = min(cpus, key=taken.count)


def post_fork(server, worker):
    """Run on the CPU pre_fork chose, and give each worker a fresh pool: a
    connection opened in the master (there should be none, but a preload hook
    might open one) must never be shared between processes. close=False leaves
    the parent's sockets alone."""
    cpu = getattr(worker, "cpu", None)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    wsgi = sys.modules.get("wsgi")
    if wsgi is not None:
        from taskapi.db import get_engine

        get_engine(wsgi.app).dispose(close=False)
