"""Sign-out signs out: with BETTER_AUTH_DATABASE_URL set, a verified token is
accepted only while what it stands for is still in Better Auth's database.

A session JWT (the cookie cache; it carries `session.id`) needs its `session` row,
unexpired; any other token its `user` row. Each answer is remembered for
BETTER_AUTH_CHECK_SECONDS, so a session costs one indexed query per interval.
"""

import math
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, column, create_engine, event, select, table
from sqlalchemy.exc import SQLAlchemyError

from ..core.db import check_on_checkout, mark_last_use

EXTENSION = "taskapi.better_auth"
SESSION_ENDED = "The session has ended (signed out or revoked); sign in again."
USER_GONE = "The user no longer exists."


class Subject(NamedTuple):
    """What a token stands for: ("session", session id) or ("user", user id)."""

    kind: str
    id: str


def subject_of(claims: dict, user_id: str) -> Subject:
    session = claims.get("session")
    if isinstance(session, dict) and isinstance(session.get("id"), str):
        return Subject("session", session["id"])
    return Subject("user", user_id)


class Refused(Exception):
    """The token's session or user is gone: a 401 with this detail."""


class Unreachable(Exception):
    """Better Auth's database did not answer: a 503 with Retry-After."""

    def __init__(self, retry_after: int):
        super().__init__("Better Auth's database cannot be reached")
        self.retry_after = retry_after


def _table(name: str, *columns: str):
    schema, _, name = name.rpartition(".")
    return table(name, *(column(c) for c in columns), schema=schema or None)


def _instant(value) -> float:
    """`expiresAt` as a POSIX time, whatever the driver hands back: a datetime
    (PostgreSQL), milliseconds or an ISO string (SQLite, as Better Auth writes it)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, int | float):
        return value / 1000 if value > 1e11 else float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def engine_for(url: str, timeout: float):
    """A small pool of its own: a check is rare (once an interval per session), so
    two connections serve many workers' threads; every wait is bounded."""
    options = {"pool_size": 2, "max_overflow": 2, "pool_timeout": timeout}
    if url.startswith("sqlite"):
        return create_engine(url)
    engine = create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_recycle=300,
        connect_args={"connect_timeout": max(1, math.ceil(timeout))},
        **options,
    )
    event.listen(engine, "checkout", check_on_checkout)
    event.listen(engine, "checkin", mark_last_use)
    return engine


class SessionChecks:
    """Answers "does this session / user still exist?", remembered per subject.

    A yes is kept for `check_seconds` (a session's never past its `expiresAt`), a
    no too: a deleted session never comes back. After a failed query, requests
    get Unreachable at once for `retry_after` seconds instead of each waiting out
    the timeout. Concurrent first requests for one subject may each query.
    """

    def __init__(
        self,
        engine,
        *,
        check_seconds: float,
        timeout: float,
        user_table: str = "user",
        session_table: str = "session",
        retry_after: int = 2,
        max_size: int = 10_000,
    ):
        self.engine = engine
        self.check_seconds = check_seconds
        self.retry_after = retry_after
        self.max_size = max_size
        sessions = _table(session_table, "id", "expiresAt")
        users = _table(user_table, "id")
        subject_id = bindparam("subject_id")
        self._queries = {
            "session": select(sessions.c.expiresAt).where(sessions.c.id == subject_id),
            "user": select(users.c.id).where(users.c.id == subject_id),
        }
        if engine.dialect.name == "postgresql":
            # A hung query is cut short in the same round trip: a multi-statement
            # query is one transaction, so SET LOCAL holds for the SELECT alone, also
            # through a transaction-pooling PgBouncer (which refuses startup options).
            limit = f"SET LOCAL statement_timeout = {math.ceil(timeout * 1000)}; "
            self._queries = {
                kind: limit + str(query.compile(dialect=engine.dialect))
                for kind, query in self._queries.items()
            }
        # subject -> (remember until, accepted until): POSIX times
        self._answers: OrderedDict[Subject, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    def check(self, subject: Subject) -> None:
        """Return if the subject still exists, else raise Refused or Unreachable."""
        now = time.time()
        answer = self._answers.get(subject)
        if answer is None or now >= answer[0]:
            answer = self._look_up(subject, now)
        if now >= answer[1]:
            raise Refused(SESSION_ENDED if subject.kind == "session" else USER_GONE)

    def _select(self, connection, subject: Subject):
        query, parameters = self._queries[subject.kind], {"subject_id": subject.id}
        if isinstance(query, str):  # PostgreSQL's, with its statement timeout
            return connection.exec_driver_sql(query, parameters)
        return connection.execute(query, parameters)

    def _look_up(self, subject: Subject, now: float) -> tuple[float, float]:
        failed_at = self._failed_at
        if failed_at is not None and time.monotonic() - failed_at < self.retry_after:
            raise Unreachable(self.retry_after)
        try:
            with self.engine.connect() as connection:
                found = self._select(connection, subject).first()
        except SQLAlchemyError as exc:
            self._failed_at = time.monotonic()
            current_app.logger.warning("Better Auth's database: %s", exc)
            raise Unreachable(self.retry_after) from exc
        self._failed_at = None
        if found is None:
            accepted_until = 0.0
        elif subject.kind == "session":
            accepted_until = _instant(found[0])
        else:
            accepted_until = math.inf
        answer = (now + self.check_seconds, accepted_until)
        if self.check_seconds > 0:
            with self._lock:
                if len(self._answers) >= self.max_size:
                    self._answers.popitem(last=False)
                self._answers[subject] = answer
        return answer


def check(claims_subject: Subject) -> None:
    """The before_request's call: no-op without BETTER_AUTH_DATABASE_URL."""
    checks = current_app.extensions.get(EXTENSION)
    if checks is not None:
        checks.check(claims_subject)


def init_app(app) -> None:
    url = app.config.get("BETTER_AUTH_DATABASE_URL")
    if not url:
        return
    app.extensions[EXTENSION] = SessionChecks(
        engine_for(url, app.config["BETTER_AUTH_TIMEOUT"]),
        check_seconds=app.config["BETTER_AUTH_CHECK_SECONDS"],
        timeout=app.config["BETTER_AUTH_TIMEOUT"],
        user_table=app.config["BETTER_AUTH_USER_TABLE"],
        session_table=app.config["BETTER_AUTH_SESSION_TABLE"],
    )
