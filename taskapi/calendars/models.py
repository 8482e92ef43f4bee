"""Calendar feeds (SQLAlchemy 2.0 typed mapping): never the feed's secret, its
SHA-256."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import utcnow
from ..core.db import Base


class CalendarFeed(Base):
    """A user's subscription URL: of everything they see (list_id NULL) or of
    one list. Revoking it deletes the row; so does deleting the list for good."""

    __tablename__ = "calendar_feeds"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(255))
    list_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid,
        ForeignKey("lists.id", name="fk_calendar_feeds_list_id", ondelete="CASCADE"),
    )
    # SHA-256 of the URL's secret, hex: the one look-up of every poll
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ux_calendar_feeds_secret_hash", "secret_hash", unique=True),
        Index("ix_calendar_feeds_user", "user_id", "created_at", "id"),
    )
