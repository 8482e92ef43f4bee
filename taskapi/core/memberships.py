"""Who besides its owner is in a list, and as what: the table every domain's
WHERE clause reads (scope.py), so it lives in core. The sharing/ domain manages
its rows (invitations, roles, leaving)."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .columns import utcnow
from .db import Base

OWNER, EDITOR, VIEWER = "owner", "editor", "viewer"
MEMBER_ROLES = (EDITOR, VIEWER)  # the owner is the list's user_id, not a row here


class Membership(Base):
    """A member of a list. Leaving (or being removed) sets `left_at` and keeps
    the row, so that the change feed can report the list's loss; joining again
    clears it. Every write bumps `change_xid` (as on tasks and lists)."""

    __tablename__ = "list_members"

    list_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("lists.id", name="fk_list_members_list_id", ondelete="CASCADE"),
        primary_key=True,
    )
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))

    __table_args__ = (
        CheckConstraint("role IN ('editor', 'viewer')", name="ck_list_members_role"),
        # the lists a user sees, on every statement that reads tasks or lists
        Index("ix_list_members_user", "user_id", "list_id"),
    )


MEMBERS = Membership.__table__.c
