"""The database: declarative Base, the scoped Session, and init_app.

Like Flask-SQLAlchemy's `db.session`: one session per thread of work, removed when
the app context ends. The engine is made in `init_app`, never at import time.
"""

import contextlib
import hashlib
import select
import time
from datetime import datetime, timezone

import orjson
from flask import current_app
from sqlalchemy import BigInteger, DateTime, bindparam, create_engine, event, func
from sqlalchemy import select as select_statement
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from werkzeug.exceptions import Conflict

from . import prepared
from .errors import refused_by_a_limit
from .timeouts import bound_sqlite_statements, startup_options


class AppSession(OrmSession):
    """Uses the engine of the app in context, as Flask-SQLAlchemy's session does,
    so that several apps (tests, tools) can live in one process."""

    def get_bind(self, *args, **kwargs):
        # joined to a connection's transaction (batch/service.py)
        if self.bind is not None:
            return self.bind
        return current_app.extensions["sqlalchemy_engine"]


Session = scoped_session(sessionmaker(class_=AppSession, expire_on_commit=False))


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


POOL_MODES = ("auto", "app", "pgbouncer")

_ADVISORY_LOCK = select_statement(
    func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger))
)


def uses_external_pooler(url, mode: str = "auto") -> bool:
    """Is the server a transaction-pooling PgBouncer (Neon's `-pooler` hosts)?

    `DATABASE_POOL=pgbouncer` says so, `app` says not, `auto` guesses from the host.
    """
    if mode not in POOL_MODES:
        raise RuntimeError(
            f"DATABASE_POOL={mode!r} is not one of {', '.join(POOL_MODES)}."
        )
    if mode == "auto":
        return "-pooler." in (make_url(url).host or "")
    return mode == "pgbouncer"


def prepares_statements(url, mode: str = "auto") -> bool:
    """Run the hot statements prepared (prepared.py)? Only on PostgreSQL with no
    PgBouncer in between: not with DATABASE_POOL=pgbouncer, and not on a Neon
    `-pooler` host even with DATABASE_POOL=app (its PgBouncer pools transactions,
    and a statement prepared on one server connection is unknown to the next)."""
    on_postgresql = make_url(url).get_backend_name() == "postgresql"
    return on_postgresql and not behind_pgbouncer(url, mode)


def behind_pgbouncer(url, mode: str = "auto") -> bool:
    """Is there a PgBouncer between the app and PostgreSQL, by configuration or by
    the host's name? (As prepares_statements: a Neon `-pooler` host is one even
    with DATABASE_POOL=app.)"""
    return uses_external_pooler(url, mode) or uses_external_pooler(url, "auto")


def _json_text(value) -> str:
    return orjson.dumps(value).decode()


def engine_options(url: str, config=None) -> dict:
    """create_engine options for the URL. Query parameters in the URL (Neon's
    `sslmode=require`, `channel_binding`, ...) reach psycopg2 untouched."""
    config = config or {}
    # JSON columns (tags) through orjson, as responses are: it is faster than json
    json_options = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        return json_options
    # connect_timeout in the URL wins; without one, give up on a dead host after 5 s
    connect_args = (
        {} if "connect_timeout" in make_url(url).query else {"connect_timeout": 5}
    )
    # Every statement commits by itself (psycopg2 sends no BEGIN, and the pool's
    # reset-on-return ROLLBACK has nothing to do): a read or a one-statement write
    # is one round trip. Work of several statements that must be atomic opens a
    # real transaction with `begin_transaction()`.
    options = {
        "connect_args": connect_args,
        "isolation_level": "AUTOCOMMIT",
        **json_options,
    }
    mode = config.get("DATABASE_POOL", "auto")
    if not behind_pgbouncer(url, mode):
        # PgBouncer refuses a startup packet with `options`; behind it, the same
        # timeouts are the role's defaults instead (timeouts.store_role_timeouts).
        startup = startup_options(url, config)
        if startup:
            connect_args["options"] = startup
    if uses_external_pooler(url, mode):
        # PgBouncer already pools; a second pool in each worker would pin server
        # connections. Nothing is prepared server-side here (prepares_statements),
        # so transaction pooling is safe once every checkout is a fresh connection.
        options["poolclass"] = NullPool
        return options
    return options | {
        # A connection the server dropped is replaced at checkout (see
        # check_on_checkout): no SELECT 1 per request, as pool_pre_ping would send.
        "pool_recycle": 300,  # Neon and PgBouncer close idle connections
        "pool_size": config.get("DATABASE_POOL_SIZE", 5),
        "max_overflow": config.get("DATABASE_MAX_OVERFLOW", 5),
        # waiting longer than this for a free connection answers 503
        "pool_timeout": config.get("DATABASE_POOL_TIMEOUT", 10),
    }


# A pooled connection idle for longer than this is pinged (SELECT 1) at checkout.
PING_AFTER_IDLE_SECONDS = 10.0


def _has_pending_input(dbapi_connection) -> bool:
    """Has the server sent something to a connection that is idle between
    requests? It only does so when it closes it (shutdown, pg_terminate_backend,
    an idle timeout): the goodbye message, then end-of-file. No round trip."""
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def check_on_checkout(dbapi_connection, record, _proxy):
    """The pessimistic disconnect check of SQLAlchemy's docs, without a round trip
    on the hot path: a connection the server closed is seen on its socket; one
    idle for a while (a silent network or NAT drop shows nothing) is pinged.
    DisconnectionError makes the pool replace the connection and try again."""
    last_used = record.info.get("last_used")
    if dbapi_connection.closed or _has_pending_input(dbapi_connection):
        raise DisconnectionError("the server closed this idle connection")
    if last_used is not None and time.monotonic() - last_used > PING_AFTER_IDLE_SECONDS:
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:
            raise DisconnectionError(f"ping failed: {error}") from error


def mark_last_use(_dbapi_connection, record):
    record.info["last_used"] = time.monotonic()


def dbapi_first_row(connection, sql: str, parameters: tuple):
    """The first row of `sql` (the driver's own paramstyle) on `connection` (a
    SQLAlchemy Connection), as the driver returns it: without SQLAlchemy's
    statement and result machinery, for a statement on every request whose cost
    that machinery would double (tokens/service.py). Errors are SQLAlchemy's, as
    every statement's (a lost connection is invalidated, and the 503s of
    errors.py apply); the parameters are kept out of their message."""
    dialect = connection.dialect
    cursor = None
    try:
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(sql, parameters)
        return cursor.fetchone()
    except dialect.loaded_dbapi.Error as error:
        driver = connection.connection.dbapi_connection
        lost = dialect.is_disconnect(error, driver, cursor)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            parameters,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error
    finally:
        if cursor is not None:
            with contextlib.suppress(dialect.loaded_dbapi.Error):
                cursor.close()


def dialect_name() -> str:
    """`postgresql` or `sqlite`: the database the session talks to."""
    return Session.get_bind().dialect.name


def begin_transaction() -> None:
    """Make the session's next statements one transaction (committed or rolled
    back by the session). On PostgreSQL the engine autocommits each statement;
    SQLite's driver opens transactions by itself. Call it before the first
    statement of the work; reads the request made before (an access token's
    look-up, auth/bearer.py) end first."""
    if Session().info.get("outer_transaction"):
        return  # already one transaction: a batch's (batch/service.py)
    if Session().in_transaction():
        Session.commit()  # autocommitted reads: nothing to keep, the connection goes
    if dialect_name() == "postgresql":
        Session.connection(execution_options={"isolation_level": "READ COMMITTED"})


def lock_for_transaction(name: str) -> None:
    """Wait until no other transaction holds the lock called `name`, then hold it
    until this one ends (PostgreSQL's pg_advisory_xact_lock: transaction-scoped,
    so safe through a transaction-pooling PgBouncer). Call it inside
    begin_transaction()'s work. SQLite runs one writer at a time already."""
    if dialect_name() != "postgresql":
        return
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    Session.execute(_ADVISORY_LOCK, {"key": key})


def refuse_past_limit(lock_name: str, counted, limit: int, refusal: str) -> None:
    """Hold the lock `lock_name` until the transaction ends, then 409 with
    `refusal` if `counted` (a count statement) has reached `limit`: concurrent
    creates queue on the lock, so they cannot all pass the count."""
    lock_for_transaction(lock_name)
    refuse_at_limit(counted, limit, refusal)


def refuse_at_limit(counted, limit: int, refusal: str) -> None:
    """409 with `refusal` if `counted` (a count statement) has reached `limit`;
    the caller already holds what serialises the creates it counts."""
    if Session.execute(counted).scalar() >= limit:
        raise Conflict(refusal)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def init_app(app) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(url, **engine_options(url, app.config))
    # A write past one of the API's limits, refused by the database: its 409.
    event.listen(engine, "handle_error", refused_by_a_limit)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if app.config.get("DATABASE_STATEMENT_TIMEOUT"):
            bound_sqlite_statements(engine, app.config["DATABASE_STATEMENT_TIMEOUT"])
    elif not isinstance(engine.pool, NullPool):
        event.listen(engine, "checkout", check_on_checkout)
        event.listen(engine, "checkin", mark_last_use)
    if prepares_statements(url, app.config.get("DATABASE_POOL", "auto")):
        prepared.init_engine(engine)
    app.extensions["sqlalchemy_engine"] = engine

    @app.teardown_appcontext
    def remove_session(_exc=None):
        try:
            Session.remove()
        except DBAPIError as error:
            # The server went away after the response was made (the rollback that
            # ends the session failed). The answer stands; SQLAlchemy has already
            # invalidated the connection, so the pool will not hand it out again.
            Session.registry.clear()
            app.logger.warning("database connection lost at teardown: %s", error.orig)


def get_engine(app):
    return app.extensions["sqlalchemy_engine"]
