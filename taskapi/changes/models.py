"""The change feed's own tables: what purge-deleted removed for good, and SQLite's
change counter (migration 0008)."""

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import SQLITE_ONLY
from ..core.db import Base


class SyncState(Base):
    """One row: the highest change number purge-deleted has removed for good."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purged_through: Mapped[int] = mapped_column(BigInteger)


class ChangeCounter(Base):
    """SQLite only: the change number its triggers hand out (migration 0008)."""

    __tablename__ = "change_counter"
    __table_args__ = {"info": SQLITE_ONLY}

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
