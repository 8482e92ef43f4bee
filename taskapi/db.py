"""The database: declarative Base, the scoped Session, and init_app.

Like Flask-SQLAlchemy's `db.session`: one session per thread of work, removed when
the app context ends. The engine is made in `init_app`, never at import time.
"""

from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator


class AppSession(OrmSession):
    """Uses the engine of the app in context, as Flask-SQLAlchemy's session does,
    so that several apps (tests, tools) can live in one process."""

    def get_bind(self, *args, **kwargs):
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


def engine_options(url: str, config=None) -> dict:
    """create_engine options for the URL. Query parameters in the URL (Neon's
    `sslmode=require`, `channel_binding`, ...) reach psycopg2 untouched."""
    config = config or {}
    if url.startswith("sqlite"):
        return {}
    # connect_timeout in the URL wins; without one, give up on a dead host after 5 s
    connect_args = (
        {} if "connect_timeout" in make_url(url).query else {"connect_timeout": 5}
    )
    options = {"connect_args": connect_args}
    if uses_external_pooler(url, config.get("DATABASE_POOL", "auto")):
        # PgBouncer already pools; a second pool in each worker would pin server
        # connections. psycopg2 never uses server-side prepared statements, so
        # transaction pooling is safe once every checkout is a fresh connection.
        options["poolclass"] = NullPool
        return options
    return options | {
        "pool_pre_ping": True,  # a connection the server dropped is replaced
        "pool_recycle": 300,  # Neon and PgBouncer close idle connections
        "pool_size": config.get("DATABASE_POOL_SIZE", 5),
        "max_overflow": config.get("DATABASE_MAX_OVERFLOW", 5),
        # waiting longer than this for a free connection answers 503
        "pool_timeout": config.get("DATABASE_POOL_TIMEOUT", 10),
    }


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def init_app(app) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(url, **engine_options(url, app.config))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
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
