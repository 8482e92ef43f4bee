"""Per-user rate limiting of /api, with flask-limiter: one budget per user
(`API_RATE_LIMIT`), counted after authentication, so users behind one NAT do not
share it and 401s, CORS preflights and the health endpoints are not counted.
Counted responses carry `X-RateLimit-*`; a 429 also carries `Retry-After`.
"""

import math
import time

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

EXTENSION = "taskapi.ratelimit"


class SweptMemoryStorage(MemoryStorage):
    """What `memory://` means here: limits' in-process counters, with the counters
    of ended windows dropped by the requests themselves, at most once a second,
    rather than by a timer thread the stock storage keeps starting under load.
    Counts for fixed windows (the strategy config.py sets)."""

    STORAGE_SCHEME = ["taskapi-memory"]
    SWEEP_INTERVAL = 1.0

    def __init__(self, uri: str | None = None, **options):
        super().__init__(uri, **options)
        self.next_sweep = 0.0

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        if now >= self.next_sweep:
            self.next_sweep = now + self.SWEEP_INTERVAL
            self.sweep(now)
        self.get(key)  # drops the counter if its window has ended
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = now + expiry
            return self.storage[key]

    def sweep(self, now: float) -> None:
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.get(key)  # the stock read drops a counter whose window ended


def api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def user_key() -> str:
    return f"user:{g.user_id}"


def limit_message() -> str:
    return (
        f"Too many requests: the limit is {api_limit()} per user. "
        "Retry after the number of seconds in Retry-After."
    )


def add_headers(response):
    current = current_app.extensions[EXTENSION].current_limit
    if current is None:
        return response
    try:
        reset_at = current.reset_at
        remaining = current.remaining
    except Exception:  # storage gone since the check: the answer still goes out
        current_app.logger.exception("rate limit headers unavailable")
        return response
    response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(max(remaining, 0))
    response.headers["X-RateLimit-Reset"] = str(reset_at)
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def init_app(app, limited_blueprints) -> None:
    """One budget per user, shared by every route of `limited_blueprints`.

    Call after auth.init_app: flask-limiter checks limits in an app-level
    before_request, and `user_key` needs the user that auth's hook (registered
    first, so run first) has set.
    """
    # One Limiter per app (not a bare one in extensions.py): flask-limiter keeps the
    # storage on the Limiter, and tests run apps with different storages side by side.
    storage_uri = app.config["RATELIMIT_STORAGE_URI"]
    if storage_uri == "memory://":
        storage_uri = "taskapi-memory://"  # SweptMemoryStorage
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri)
    budget = limiter.shared_limit(
        # The string, not a callable: flask-limiter parses a static limit once,
        # a callable on every request.
        app.config["API_RATE_LIMIT"],
        scope="api",
        key_func=user_key,
        error_message=limit_message,
        exempt_when=lambda: request.method == "OPTIONS",
    )
    for blueprint in limited_blueprints:
        budget(blueprint)
    app.extensions[EXTENSION] = limiter
    app.after_request(add_headers)
