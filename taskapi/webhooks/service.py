"""A user's webhooks: registering, reading and deleting them, and their
deliveries log. Events are recorded by the trigger of migration 0009 (task
events, triggers.py) and by reminders/due.py (reminder.due); worker.py delivers
them."""

import base64
import secrets

from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.exceptions import NotFound

from ..core.db import Session, begin_transaction, refuse_past_limit
from ..core.errors import invalid
from ..core.scope import of_user, uuid_or_404
from .models import Webhook, WebhookDelivery
from .urls import RefusedURL, public_addresses

EVENT_TYPES = (
    "task.created",
    "task.updated",
    "task.completed",
    "task.deleted",
    "reminder.due",
)
MAX_WEBHOOKS = 10
DELIVERIES_SHOWN = 50
WEBHOOK_NOT_FOUND = "Webhook not found."


def new_secret() -> str:
    """24 random bytes as Standard Webhooks write a secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def check_url(url: str) -> None:
    """422 on `url` unless this deployment may call it (urls.py)."""
    if current_app.config["WEBHOOK_PRIVATE_URLS"]:
        return
    try:
        public_addresses(url)
    except RefusedURL as refused:
        raise invalid("url", str(refused)) from None


def create_webhook(user_id: str, fields: dict) -> Webhook:
    """Under the user's webhooks lock, so two creates cannot both pass the count."""
    check_url(fields["url"])
    begin_transaction()
    refuse_past_limit(
        f"webhooks:{user_id}",
        select(func.count()).select_from(Webhook).where(*of_user(user_id, Webhook)),
        MAX_WEBHOOKS,
        f"At most {MAX_WEBHOOKS} webhooks per user: delete one first.",
    )
    webhook = Webhook(
        user_id=user_id,
        url=fields["url"],
        events=fields["events"],
        secret=new_secret(),
    )
    Session.add(webhook)
    Session.commit()
    return webhook


def get_webhooks(user_id: str) -> list[Webhook]:
    return Session.scalars(
        select(Webhook)
        .where(*of_user(user_id, Webhook))
        .order_by(Webhook.created_at, Webhook.id)
    ).all()


def get_webhook(user_id: str, webhook_id: str, *, for_update=False) -> Webhook:
    statement = select(Webhook).where(
        *of_user(user_id, Webhook),
        Webhook.id == uuid_or_404(webhook_id, WEBHOOK_NOT_FOUND),
    )
    if for_update:  # until the transaction ends; the worker skips it meanwhile
        statement = statement.with_for_update()
    found = Session.scalars(statement).one_or_none()
    if found is None:
        raise NotFound(WEBHOOK_NOT_FOUND)
    return found


def delete_webhook(user_id: str, webhook_id: str, condition) -> None:
    """Its undelivered events and its log go with it (ON DELETE CASCADE). The
    webhook is locked before its events, as the worker locks them, and no
    delivery holds a lock (outbox.py): this never waits on one."""
    begin_transaction()
    webhook = get_webhook(user_id, webhook_id, for_update=True)
    if condition is not None:
        condition.check(webhook)
    Session.execute(delete(Webhook).where(Webhook.id == webhook.id))
    Session.commit()


def get_deliveries(user_id: str, webhook_id: str) -> list[WebhookDelivery]:
    webhook = get_webhook(user_id, webhook_id)
    return Session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(DELIVERIES_SHOWN)
    ).all()
