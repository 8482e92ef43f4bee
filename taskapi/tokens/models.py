"""Access tokens (SQLAlchemy 2.0 typed mappings): never the token, its SHA-256."""

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import TagList, utcnow
from ..core.db import Base


class AccessToken(Base):
    """A user's access token (service.py); revoking it deletes the row."""

    __tablename__ = "access_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(TagList)
    # SHA-256 of the token, hex: the one look-up of every request that sends one
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ux_access_tokens_token_hash", "token_hash", unique=True),
        Index("ix_access_tokens_user", "user_id", "created_at", "id"),
    )
