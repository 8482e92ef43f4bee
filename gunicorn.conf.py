"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (the Procfile's web line).

Reads `PORT`, `WEB_CONCURRENCY` (worker processes), `GUNICORN_THREADS` (threads per
worker) and `GUNICORN_PIN_WORKERS` (1: each worker on a CPU of its own). The defaults
suit a PaaS dyno on a shared host.
"""

import gc
import multiprocessing
import os
import sys

from taskapi.config import DEFAULT_THREADS


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
# One process per CPU, 2 to 4: a container often sees all of its host's CPUs, and
# each worker costs memory and its own database pool. WEB_CONCURRENCY sets it exactly.
workers = _int_env("WEB_CONCURRENCY", min(4, max(2, multiprocessing.cpu_count())))
# gthread (threads cover the time a request waits on the database, one connection
# each), answering what gunicorn itself refuses with the contract's JSON error.
# Two threads: a shorter tail and a lower p99 than four, since fewer requests
# share a worker's GIL at once, at about the same rate (decision 0005).
worker_class = "taskapi.web.gunicorn_worker.JSONErrorWorker"
threads = _int_env("GUNICORN_THREADS", DEFAULT_THREADS)
# Off: on a shared host a pinned worker cannot move off a CPU its neighbours keep busy.
pin_workers = _switch_env("GUNICORN_PIN_WORKERS", False)
# Build the app once in the master: a bad configuration (no secret, bad
# DATABASE_URL) stops the server with its message instead of looping on worker
# boots, and workers share the imported code copy-on-write.
preload_app = True
# A socket per worker (SO_REUSEPORT): the kernel spreads new connections over the
# workers, so a client's keep-alive connections opened together do not all land on one.
reuse_port = True
# Heroku's router gives up on a request after 30 s; a worker silent that long is stuck.
timeout = 30
# On SIGTERM, in-flight requests get 20 s: within the 30 s Heroku and Render allow
# before SIGKILL.
graceful_timeout = 20
# Longer than gunicorn's 2 s, so routers and browsers reuse their connections.
keepalive = 5
# The app writes one JSON line per request to stderr (taskapi/web/logs.py);
# gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
# gunicorn's control socket is one path per user ($HOME/.gunicorn), which two
# servers on one host would fight over; a dyno has no use for it.
control_socket_disable = True
# Up to this, a long header reaches the app, which answers JSON with CORS headers
# (an Authorization header over 8 KiB is a 431, a bad token a 401); past it the
# worker above answers 431, so memory stays bounded.
limit_request_field_size = 128 * 1024
# The longest request line gunicorn will read with a bound (0 would read without
# one): room for a listing with many filters; past it a 414 from the worker above.
limit_request_line = 8190
# X-Forwarded-* is trusted from FORWARDED_ALLOW_IPS (gunicorn reads it; default
# 127.0.0.1): behind a PaaS router set it to * so the listing's Link URLs say https.


def when_ready(server):
    """The app is loaded (preload_app) and no worker is forked yet: freeze its
    objects, so that a worker's collections never walk them (a full pass over
    the loaded app pauses every request the worker holds) and the pages holding
    them stay shared with the master."""
    gc.collect()
    gc.freeze()


def pre_fork(server, worker):
    """With GUNICORN_PIN_WORKERS=1, choose a CPU for the worker about to start:
    the one fewest live workers run on. A worker's threads hand the GIL to one
    another around every database call, which is cheaper on one core. With more
    workers than CPUs the kernel places them as usual."""
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
        from taskapi.core.db import get_engine

        get_engine(wsgi.app).dispose(close=False)
