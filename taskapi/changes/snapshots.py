"""What a poll's snapshot saw, per dialect. On PostgreSQL it is the snapshot
itself (`pg_current_snapshot()`): a row changed since it when its change number
is not visible in it, so a transaction that commits late is not missed. On
SQLite, which writes one transaction at a time, it is the change counter."""

from sqlalchemy import BigInteger, Text, and_, bindparam, cast, func, not_, select
from sqlalchemy.types import UserDefinedType

from ..core.db import dialect_name
from .models import ChangeCounter


class _PgType(UserDefinedType):
    cache_ok = True

    def __init__(self, name: str):
        self.name = name

    def get_col_spec(self, **kw):
        return self.name


XID8, PG_SNAPSHOT = _PgType("xid8"), _PgType("pg_snapshot")

# Bound per poll (sources.parameters): the client's snapshot and its low mark.
SNAPSHOT = bindparam("feed_snapshot", type_=Text)
LOW_MARK = bindparam("feed_low_mark", type_=BigInteger)


def current_snapshot():
    if dialect_name() == "postgresql":
        return cast(func.pg_current_snapshot(), Text)
    return cast(select(ChangeCounter.value).scalar_subquery(), Text)


def low_mark(snapshot: str) -> int:
    """The smallest change number a snapshot may not have seen."""
    if dialect_name() == "postgresql":
        return int(snapshot.split(":", 1)[0])  # xmin:xmax:xip,...
    return int(snapshot) + 1


def changed_since(change_xid):
    """Written by a transaction the poll's snapshot did not see (committed
    after it)."""
    low = change_xid >= LOW_MARK
    if dialect_name() != "postgresql":
        return low
    visible = func.pg_visible_in_snapshot(
        cast(cast(change_xid, Text), XID8), cast(SNAPSHOT, PG_SNAPSHOT)
    )
    return and_(low, not_(visible))
