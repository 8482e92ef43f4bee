"""Invitations to a list (SQLAlchemy 2.0 typed mapping): never the code, its
SHA-256."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import utcnow
from ..core.db import Base


class Invitation(Base):
    """A code that makes whoever accepts it a member of the list, `max_uses`
    times until `expires_at`; revoking it deletes the row."""

    __tablename__ = "list_invitations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    list_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("lists.id", name="fk_list_invitations_list_id", ondelete="CASCADE"),
    )
    role: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    max_uses: Mapped[int]
    uses: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index("ux_list_invitations_code_hash", "code_hash", unique=True),
        Index("ix_list_invitations_list", "list_id", "created_at", "id"),
    )
