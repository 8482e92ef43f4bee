"""Every statement has a deadline: PostgreSQL's statement_timeout and lock_timeout
on the app's connections (DATABASE_STATEMENT_TIMEOUT, DATABASE_LOCK_TIMEOUT), a
progress handler on SQLite, and the work exempt from them (migrations, purges).
A cancelled statement answers 503 (errors.database_unavailable).
See docs/decisions/0020-statement-and-lock-timeouts.md.
"""

import logging
import math
import time

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

# Execution option of a connection that may run statements of any length (see
# lift_statement_timeout).
UNBOUNDED = "taskapi_no_statement_timeout"
# How often (in SQLite virtual machine instructions) a running statement checks
# its deadline: about every 0.1-1 ms of work.
PROGRESS_STEPS = 10_000


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000)) if seconds > 0 else 0


def timeouts(config) -> dict[str, int]:
    """PostgreSQL's statement_timeout and lock_timeout as configured, in
    milliseconds (0: none)."""
    return {
        "statement_timeout": _milliseconds(config.get("DATABASE_STATEMENT_TIMEOUT", 0)),
        "lock_timeout": _milliseconds(config.get("DATABASE_LOCK_TIMEOUT", 0)),
    }


def startup_options(url, config) -> str:
    """libpq's `options` for a direct connection: the timeouts ride in the
    startup packet, so they cost no round trip. Options already in the URL (Neon's
    `endpoint=...`) are kept."""
    given = make_url(url).query.get("options") or ""
    if isinstance(given, tuple):
        given = " ".join(given)
    settings = [f"-c {name}={ms}" for name, ms in timeouts(config).items() if ms]
    return " ".join([given, *settings]).strip()


def store_role_timeouts(engine, config) -> str | None:
    """Behind a transaction-pooling PgBouncer, which refuses libpq's `options`:
    make the timeouts the defaults of this role in this database, which every
    server connection PgBouncer opens from then on starts with (what Neon
    documents for its pooler). `flask db upgrade` calls it. What it did, for the
    release's log; None if the role may not (logged, with the statements to run)."""
    with engine.connect() as conn:
        database = conn.exec_driver_sql("SELECT current_database()").scalar()
        quoted = conn.dialect.identifier_preparer.quote_identifier(database)
        role = f"ALTER ROLE CURRENT_USER IN DATABASE {quoted}"
        changes = [
            f"{role} SET {name} = {ms}" if ms else f"{role} RESET {name}"
            for name, ms in timeouts(config).items()
        ]
        try:
            for change in changes:
                conn.exec_driver_sql(change)
        except DBAPIError as error:
            log.warning(
                "The statement and lock timeouts are NOT set: %s. Run as a role "
                "that may: %s",
                str(error.orig).strip().splitlines()[0],
                "; ".join(changes),
            )
            return None
    return "; ".join(changes)


def lift_statement_timeout(connection) -> None:
    """No statement timeout for the rest of `connection`'s transaction: a
    migration or a purge may rewrite a big table for minutes. The lock timeout
    stays, so such work gives up rather than queue every request behind a lock
    it waits for. On PostgreSQL, call it inside the transaction."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    else:
        connection.execution_options(**{UNBOUNDED: True})


def bound_sqlite_statements(engine, seconds: float) -> None:
    """SQLite has no statement timeout: a progress handler stops a statement
    that runs past its deadline (sqlite3 raises OperationalError "interrupted",
    answered 503 like PostgreSQL's cancellation)."""

    def install(dbapi_connection, record):
        deadline = record.info.setdefault("statement_deadline", [math.inf])
        dbapi_connection.set_progress_handler(
            lambda: time.monotonic() > deadline[0], PROGRESS_STEPS
        )

    def start(conn, _cursor, _statement, _parameters, context, _executemany):
        unbounded = context is not None and context.execution_options.get(UNBOUNDED)
        deadline = math.inf if unbounded else time.monotonic() + seconds
        conn.connection.info["statement_deadline"][0] = deadline

    event.listen(engine, "connect", install)
    event.listen(engine, "before_cursor_execute", start)
