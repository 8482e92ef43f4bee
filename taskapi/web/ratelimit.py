"""Per-user rate limiting of /api, with the `limits` package (flask-limiter's own
engine): one budget per user (`API_RATE_LIMIT`), counted after authentication, so
users behind one NAT do not share it and 401s, CORS preflights and the health
endpoints are not counted. Counted responses carry `X-RateLimit-*`; a 429 also
carries `Retry-After`.

`limits` is called directly rather than through flask-limiter: with one static limit
for every route, flask-limiter's per-request work (resolving which limits apply to
the endpoint, exemptions, deductions) was the largest single cost of a request.
"""

import math
import time
from typing import NamedTuple

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

EXTENSION = "taskapi.ratelimit"
SCOPE = "api"
# A calendar feed's own budget (CALENDAR_FEED_RATE_LIMIT): its URL needs no token,
# so it is counted per feed, not per user.
FEED_EXTENSION = "taskapi.ratelimit.feeds"
FEED_SCOPE = "calendar"
# A user's imports' own budget (IMPORT_RATE_LIMIT), besides the user's budget.
IMPORT_EXTENSION = "taskapi.ratelimit.imports"
IMPORT_SCOPE = "import"


class SweptMemoryStorage(MemoryStorage):
    """What `memory://` means here: limits' in-process counters, with the counters
    of ended windows dropped by the requests themselves, at most once a second,
    rather than by a timer thread the stock storage keeps starting under load.
    Counts for fixed windows."""

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


class Counted(NamedTuple):
    """One limit's state after a request was counted, for the response headers."""

    limit: RateLimitItem
    remaining: int
    reset_at: float


class UserBudget:
    """Limits (a setting's text, e.g. "1000/minute"), counted per key (a user, a
    feed) in one storage; `wording` says them in the 429, `{limit}` standing for
    the text."""

    def __init__(
        self,
        limits_text: str,
        wording: str,
        storage: Storage,
        prefix: str,
        blueprints=(),
        kind: str = "user",
        scope: str = SCOPE,
    ):
        self.limits_text, self.wording = limits_text, wording
        self.blueprints = frozenset(blueprints)
        self.kind, self.scope = kind, scope
        self.items = parse_many(limits_text)
        self.storage = storage
        self.strategy = FixedWindowRateLimiter(storage)
        self.prefix = prefix

    def count(self, key: str, cost: int = 1) -> tuple[bool, Counted]:
        """Count `cost` requests against every limit (all must hold): (allowed,
        the limit to report: the refusing one, else the one with least left)."""
        reported = None
        for item in self.items:
            identifiers = (self.prefix, f"{self.kind}:{key}", self.scope)
            allowed = self.strategy.hit(item, *identifiers, cost=cost)
            stats = self.strategy.get_window_stats(item, *identifiers)
            counted = Counted(item, stats.remaining, stats.reset_time)
            if not allowed:
                return False, counted
            if reported is None or counted.remaining < reported.remaining:
                reported = counted
        return True, reported

    def refusal(self) -> str:
        return (
            f"{self.wording.format(limit=self.limits_text)} Retry after the number "
            "of seconds in Retry-After."
        )


def _spend(budget: UserBudget, key: str, cost: int = 1, report: bool = True) -> None:
    """Count `cost` requests of `key`; 429 past the budget. `report`: the
    response's headers report this budget even when it allows the request."""
    try:
        allowed, counted = budget.count(key, cost)
    except Exception:  # the storage is down: serve unlimited rather than not at all
        current_app.logger.exception("rate limit storage unavailable")
        return
    if report or not allowed:
        g.rate_limit = counted
    if not allowed:
        raise TooManyRequests(budget.refusal())


def check_budget():
    """Registered after the token check's hook, so the user is known (and a 401
    or 403 never reaches here)."""
    budget = current_app.extensions.get(EXTENSION)
    if (
        budget is None
        or request.method == "OPTIONS"
        or request.blueprint not in budget.blueprints
    ):
        return
    _spend(budget, g.user_id)


def charge(extra: int) -> None:
    """Count `extra` more requests for the current one (a batch counts each of
    its operations); 429 if that passes the budget."""
    budget = current_app.extensions.get(EXTENSION)
    if budget is not None and extra > 0:
        _spend(budget, g.user_id, extra)


def check_feed_budget(feed_id) -> None:
    """Count one poll of a calendar feed against its own budget; 429 (with
    Retry-After) past it. Calendars poll hourly at most: the budget stops a
    leaked URL from being read in a loop."""
    budget = current_app.extensions.get(FEED_EXTENSION)
    if budget is not None:
        _spend(budget, str(feed_id))


def check_import_budget(user_id: str) -> None:
    """Count one import of the user's against its own budget; 429 past it. The
    response keeps reporting the user's budget unless this one refuses."""
    budget = current_app.extensions.get(IMPORT_EXTENSION)
    if budget is not None:
        _spend(budget, user_id, report=False)


def add_headers(response):
    counted = g.pop("rate_limit", None)
    if counted is None:
        return response
    response.headers["X-RateLimit-Limit"] = str(counted.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(max(counted.remaining, 0))
    reset_at = math.ceil(counted.reset_at)
    response.headers["X-RateLimit-Reset"] = str(reset_at)
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def init_app(app, limited_blueprints) -> None:
    """One budget per user, shared by every route of `limited_blueprints`.

    Call after auth.init_app: Flask runs app-level hooks in the order they were
    registered, and the budget needs the user the token check found.
    """
    if not app.config["RATELIMIT_ENABLED"]:
        return
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri == "memory://":
        uri = "taskapi-memory://"  # SweptMemoryStorage
    # One storage per app: tests run apps with different storages side by side.
    storage = storage_from_string(uri)

    def budget(setting: str, wording: str, blueprints=(), **where) -> UserBudget:
        prefix = app.config["RATELIMIT_KEY_PREFIX"]
        return UserBudget(
            app.config[setting], wording, storage, prefix, blueprints, **where
        )

    app.extensions[EXTENSION] = budget(
        "API_RATE_LIMIT",
        "Too many requests: the limit is {limit} per user.",
        (blueprint.name for blueprint in limited_blueprints),
    )
    app.extensions[FEED_EXTENSION] = budget(
        "CALENDAR_FEED_RATE_LIMIT",
        "Too many requests for this calendar feed: the limit is {limit}.",
        kind="feed",
        scope=FEED_SCOPE,
    )
    app.extensions[IMPORT_EXTENSION] = budget(
        "IMPORT_RATE_LIMIT",
        "Too many requests for imports: the limit is {limit}.",
        scope=IMPORT_SCOPE,
    )
    app.before_request(check_budget)
    app.after_request(add_headers)
