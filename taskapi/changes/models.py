"""The change feed's own tables: what purge-deleted removed for good, SQLite's
change counter (migration 0008), and the tasks that left a list (migration 0014)."""

import uuid

from sqlalchemy import BigInteger, Index
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import SQLITE_ONLY, BigId
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


class TaskDeparture(Base):
    """A task that left a list (moved elsewhere), written by a trigger on
    `tasks`: the list's members who no longer see it learn from the feed that it
    is gone for them. Removed by purge-deleted with the deleted rows."""

    __tablename__ = "task_departures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID]
    list_id: Mapped[uuid.UUID]
    change_xid: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_task_departures_list", "list_id", "change_xid"),)
