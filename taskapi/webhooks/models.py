"""Webhooks, their outbox of events, their deliveries log, and the clock of
reminder.due (SQLAlchemy 2.0 typed mappings)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.columns import BigId, TagList, utcnow
from ..core.db import Base


class Webhook(Base):
    """A user's endpoint that hears about the events it names (service.py)."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(TagList)
    # `whsec_<base64>`, as Standard Webhooks write it: kept to sign with.
    secret: Mapped[str] = mapped_column(String(100))
    # False once an event failed for the whole retry window; it then hears nothing.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    # The trigger of migration 0009 probes (user_id) on every task write.
    __table_args__ = (Index("ix_webhooks_user", "user_id", "created_at", "id"),)


class WebhookEvent(Base):
    """The outbox: one event for one webhook, not yet delivered. Written by the
    trigger of migration 0009 (task events) or the worker (reminder.due);
    deleted once delivered."""

    __tablename__ = "webhook_events"

    # The order of events: delivered by it, per (webhook, task).
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The `webhook-id` a receiver deduplicates by; the same on every retry.
    event_id: Mapped[uuid.UUID]
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "webhooks.id", name="fk_webhook_events_webhook_id", ondelete="CASCADE"
        )
    )
    task_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(40))
    # Who made the change (tasks.changed_by); NULL for reminder.due.
    actor: Mapped[str | None] = mapped_column(String(255))
    # The task's row as JSON at that event (to_jsonb), rendered at delivery.
    task: Mapped[dict] = mapped_column(TagList)
    remind_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]

    # Claims go round robin over webhooks, oldest first within each, and in
    # order per task (outbox.py).
    __table_args__ = (
        Index("ix_webhook_events_task_order", "webhook_id", "task_id", "id"),
        Index("ix_webhook_events_webhook", "webhook_id", "id"),
    )


class WebhookDelivery(Base):
    """One delivery attempt, for GET /webhooks/<id>/deliveries (the last 50 kept)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "webhooks.id", name="fk_webhook_deliveries_webhook_id", ondelete="CASCADE"
        )
    )
    event_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(40))
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)


class WebhookReminderClock(Base):
    """One row: reminders due up to `fired_until` have had their reminder.due
    (reminders/due.py)."""

    __tablename__ = "webhook_reminder_clock"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fired_until: Mapped[datetime]
