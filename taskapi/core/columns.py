"""Column types and index helpers every domain's models use, the UTC clock
their defaults read, and the app's clock of "today" (clock_now). Migrations own
the schema (docs/architecture.md)."""

from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import JSON, BigInteger, Index, Integer, text
from sqlalchemy.dialects.postgresql import JSONB

TagList = JSON().with_variant(JSONB(), "postgresql")
# A JSON object or SQL NULL (not JSON `null`): `recurrence IS NULL` is what the
# one-statement toggle tests.
JSONObject = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)

# Every listing index covers one user's live tasks.
LIVE = text("deleted_at IS NULL")
# Objects the migrations create on PostgreSQL only: migrations/env.py leaves them
# out of the comparison on SQLite.
POSTGRESQL_ONLY = {"postgresql_only": True}
SQLITE_ONLY = {"sqlite_only": True}


def live_index(name: str, *expressions, where: str | None = None, **options) -> Index:
    """A partial index over live rows, on both databases (migrations 0001, 0003...);
    `where` narrows it further."""
    live = LIVE if where is None else text(f"{LIVE.text} AND {where}")
    return Index(
        name, *expressions, postgresql_where=live, sqlite_where=live, **options
    )


def postgresql_index(name: str, *expressions, info=None, **options) -> Index:
    """A partial index over live tasks that migration 0003 creates on PostgreSQL
    only (sort orders or index types SQLite has not got)."""
    info = {**POSTGRESQL_ONLY, **(info or {})}
    return Index(name, *expressions, postgresql_where=LIVE, info=info, **options)


# Ids of tables that grow without bound; SQLite autoincrements INTEGER keys only.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# app.extensions[CLOCK]: a callable answering the current UTC instant, where the
# app reads "now" to interpret words like "today" (quick add). Tests put a fixed
# clock there; unset, it is utcnow.
CLOCK = "taskapi.clock"


def clock_now() -> datetime:
    """The current instant by the app's clock (CLOCK), timezone-aware UTC."""
    return current_app.extensions.get(CLOCK, utcnow)()
