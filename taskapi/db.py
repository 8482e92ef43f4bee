"""The database: declarative Base, the scoped Session, and init_app.

Like Flask-SQLAlchemy's `db.session`: one session per thread of work, removed when
the app context ends. The engine is made in `init_app`, never at import time.
"""

from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.orm import Session as OrmSession
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


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {}
    return {
        "pool_pre_ping": True,  # a connection the server dropped is replaced
        "pool_recycle": 300,  # Neon and PgBouncer close idle connections
        "connect_args": {"connect_timeout": 5},
    }


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def init_app(app) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(url, **engine_options(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    app.extensions["sqlalchemy_engine"] = engine

    @app.teardown_appcontext
    def remove_session(_exc=None):
        Session.remove()


def get_engine(app):
    return app.extensions["sqlalchemy_engine"]
