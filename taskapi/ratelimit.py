"""Per-user rate limiting of /api, with the `limits` library (flask-limiter's engine).

One budget per user for the whole API (`API_RATE_LIMIT`, default 300/minute), counted
after authentication so the key is the token's user id: a user never uses up another
user's budget, even behind one NAT. Requests refused with 401 are not counted (they
cost one HMAC check and no database work). The health endpoints and CORS preflights
are never limited. Storage is `RATELIMIT_STORAGE_URI`: `memory://` (one process) or
`redis://...` (several workers or instances share one count); when it cannot be
reached, requests go through unlimited and the failure is logged.

Every counted response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (Unix time, seconds); a 429 also carries `Retry-After` (seconds).

The check is `limits` called directly (one counter increment and one read per
request) rather than through flask-limiter's decorators, whose per-request
bookkeeping cost more than the rest of a cached read (issue 9's profile).
"""

import math
import time
from typing import NamedTuple

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import STRATEGIES
from werkzeug.exceptions import TooManyRequests

EXTENSION = "taskapi.ratelimit"


class SweepingMemoryStorage(MemoryStorage):
    """limits' in-process storage, sweeping expired counters from the request
    thread at most once a second: the stock one starts a timer thread every
    10 ms under load. Counters are still expired on read, as before."""

    SWEEP_INTERVAL = 1.0
    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the timer thread
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_INTERVAL
            self._MemoryStorage__expire_events()


class Limiter(NamedTuple):
    strategy: object  # a limits RateLimiter
    items: list[RateLimitItem]
    prefix: str


class Counted(NamedTuple):
    """What the response headers say about the request's budget."""

    item: RateLimitItem
    remaining: int
    reset_at: float


def api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def limit_message() -> str:
    return (
        f"Too many requests: the limit is {api_limit()} per user. "
        "Retry after the number of seconds in Retry-After."
    )


def _count(limiter: Limiter, key: str) -> tuple[Counted | None, bool]:
    """Hit every limit (stopping at the first one used up); the limit to report
    (the used-up one, else the one with the fewest requests left) and whether the
    request may go on."""
    reported = None
    for item in limiter.items:
        allowed = limiter.strategy.hit(item, limiter.prefix, "api", key)
        stats = limiter.strategy.get_window_stats(item, limiter.prefix, "api", key)
        counted = Counted(item, stats.remaining, stats.reset_time)
        if not allowed:
            return counted, False
        if reported is None or counted.remaining < reported.remaining:
            reported = counted
    return reported, True


def check_rate_limit():
    """before_request of the tasks blueprint, registered after `authenticate`:
    counts the request against the user's budget; past it, 429."""
    if request.method == "OPTIONS":  # CORS preflight: never counted
        return
    limiter = current_app.extensions[EXTENSION]
    try:
        counted, allowed = _count(limiter, f"user:{g.user_id}")
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
    headers["X-RateLimit-Limit"] = str(counted.item.amount)
    headers["X-RateLimit-Remaining"] = str(max(counted.remaining, 0))
    reset_at = int(counted.reset_at)
    headers["X-RateLimit-Reset"] = str(reset_at)
    if response.status_code == 429:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def init_app(app) -> None:
    # One storage per app (tests run apps with different storages side by side).
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith("memory://"):
        storage = SweepingMemoryStorage()
    else:
        storage = storage_from_string(
            uri, **app.config.get("RATELIMIT_STORAGE_OPTIONS", {})
        )
    strategy = STRATEGIES[app.config["RATELIMIT_STRATEGY"]](storage)
    app.extensions[EXTENSION] = Limiter(
        strategy,
        parse_many(app.config["API_RATE_LIMIT"]),
        app.config["RATELIMIT_KEY_PREFIX"],
    )
    app.after_request(add_headers)
