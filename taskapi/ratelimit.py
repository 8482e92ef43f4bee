"""Per-user rate limiting of /api, with `limits` (the library flask-limiter is built on).

One budget per user for the whole API (`API_RATE_LIMIT`, default 1000/minute), counted
after authentication so the key is the token's user id: a user never uses up another
user's budget, even behind one NAT. Requests refused with 401 are not counted (they
cost one HMAC check and no database work). The health endpoints and CORS preflights
are never limited. Storage is `RATELIMIT_STORAGE_URI`: `memory://` (one process) or
`redis://...` (several workers or instances share one count); when it cannot be
reached, requests go through unlimited and the failure is logged.

Every counted response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (Unix time, seconds); a 429 also carries `Retry-After` (seconds).

Why not flask-limiter's decorators: with one budget there is nothing for its
per-request limit resolution to decide, and under load that resolution cost about
30% of a cached read's throughput (issue 9). Here a request is one counter increment
and one read, in the same storages and with the same strategies.
"""

import math
import time
from typing import NamedTuple

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

EXTENSION = "taskapi.ratelimit"
SCOPE = "api"


class ProcessStorage(MemoryStorage):
    """`memory://`: limits' in-process counters, with the counters of ended windows
    dropped by the requests themselves (at most once a second) rather than by the
    timer thread the stock storage starts again every 10 ms under load (hundreds
    of thread starts a second per worker). A counter is also reset when read after
    its window, as before. Fixed windows only (the strategy the config sets)."""

    SWEEP_INTERVAL = 1.0

    def __init__(self):
        super().__init__()
        self.next_sweep = 0.0

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        if now >= self.next_sweep:
            self.next_sweep = now + self.SWEEP_INTERVAL
            self.sweep(now)
        self.get(key)  # a counter whose window has ended starts again from 0
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = now + expiry
            return self.storage[key]

    def sweep(self, now: float) -> None:
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                with self.locks[key]:
                    self.storage.pop(key, None)
                    self.expirations.pop(key, None)
                self.locks.pop(key, None)


class Budget(NamedTuple):
    """The limits every counted request is checked against, and where they apply."""

    strategy: RateLimiter
    items: list[RateLimitItem]
    prefix: str
    blueprints: frozenset[str]


class Counted(NamedTuple):
    """What the response headers say about the request's budget."""

    item: RateLimitItem
    remaining: int
    reset_at: float


def limit_message() -> str:
    return (
        f"Too many requests: the limit is {current_app.config['API_RATE_LIMIT']} "
        "per user. Retry after the number of seconds in Retry-After."
    )


def count(budget: Budget, key: str) -> tuple[Counted | None, bool]:
    """Hit every limit of the budget (stopping at the first one used up): the limit
    to report (the used-up one, else the one with the fewest requests left) and
    whether the request may go on."""
    reported = None
    for item in budget.items:
        allowed = budget.strategy.hit(item, budget.prefix, SCOPE, key)
        stats = budget.strategy.get_window_stats(item, budget.prefix, SCOPE, key)
        counted = Counted(item, stats.remaining, stats.reset_time)
        if not allowed:
            return counted, False
        if reported is None or counted.remaining < reported.remaining:
            reported = counted
    return reported, True


def count_request():
    """before_request, registered after auth's `authenticate` (which sets the user):
    counts a request to the limited blueprints against the user's budget; past it,
    429. Preflights and other blueprints are not counted."""
    budget: Budget = current_app.extensions[EXTENSION]
    if request.blueprint not in budget.blueprints or request.method == "OPTIONS":
        return
    try:
        counted, allowed = count(budget, f"user:{g.user_id}")
    except Exception:  # storage unreachable: serve unlimited rather than fail
        current_app.logger.exception("rate limit storage unavailable; not limiting")
        return
    g.rate_limit = counted
    if not allowed:
        raise TooManyRequests(limit_message())


def add_headers(response):
    counted = g.get("rate_limit")
    if counted is None:
        return response
    headers = response.headers
    reset_at = int(counted.reset_at)
    headers["X-RateLimit-Limit"] = str(counted.item.amount)
    headers["X-RateLimit-Remaining"] = str(max(counted.remaining, 0))
    headers["X-RateLimit-Reset"] = str(reset_at)
    if response.status_code == 429:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def init_app(app, limited_blueprints) -> None:
    """One budget per user, shared by every route of `limited_blueprints`.

    Call after auth.init_app: Flask runs app-level before_request hooks in the
    order they were registered, and the count needs the user `authenticate` set.
    """
    if not app.config["RATELIMIT_ENABLED"]:
        return
    # One storage per app: tests run apps with different storages side by side.
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri == "memory://":
        storage = ProcessStorage()
    else:
        storage = storage_from_string(
            uri, **app.config.get("RATELIMIT_STORAGE_OPTIONS", {})
        )
    app.extensions[EXTENSION] = Budget(
        STRATEGIES[app.config["RATELIMIT_STRATEGY"]](storage),
        parse_many(app.config["API_RATE_LIMIT"]),
        app.config["RATELIMIT_KEY_PREFIX"],
        frozenset(blueprint.name for blueprint in limited_blueprints),
    )
    app.before_request(count_request)
    app.after_request(add_headers)
