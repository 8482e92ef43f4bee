"""Marshmallow schemas of webhooks: what a client registers, and what it reads."""

from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import ValidationError, fields, validate

from ..core.fields import Input, Text, UTCDateTime
from .service import EVENT_TYPES


class WebhookURL(Text):
    """An absolute http(s) URL with a host and no credentials (whether this
    deployment may call it is checked against its addresses: webhooks.check_url)."""

    def __init__(self, **kwargs):
        super().__init__(strip=True, validate=validate.Length(1, 2000), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        url = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            raise ValidationError("Not a valid URL.") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("Must be an absolute https:// URL.")
        if parts.username is not None or parts.password is not None:
            raise ValidationError(
                "Must not carry credentials: verify our signature instead."
            )
        return url


class WebhookEvents(fields.List):
    """1-5 of the event types, duplicates merged; all of them when left out."""

    def __init__(self, **kwargs):
        super().__init__(
            fields.String(validate=validate.OneOf(EVENT_TYPES)),
            validate=validate.Length(1, 5 * len(EVENT_TYPES)),
            load_default=lambda: list(EVENT_TYPES),
            metadata={"description": f"Any of {', '.join(EVENT_TYPES)}; default all."},
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        return list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs)))


class WebhookCreateSchema(Input):
    read_only_fields = ("id", "user_id", "active", "created_at", "secret")

    url = WebhookURL(required=True)
    events = WebhookEvents()


class WebhookSchema(ma.Schema):
    """A webhook, as the API answers it (without its secret)."""

    id = fields.UUID()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean(
        metadata={"description": "False once an event failed for 24 hours."}
    )
    created_at = UTCDateTime()


class NewWebhookSchema(WebhookSchema):
    """The answer to its registration: the only one that shows the secret."""

    secret = fields.String(
        metadata={"description": "whsec_...: verify signatures with it (shown once)."}
    )


class DeliverySchema(ma.Schema):
    """One delivery attempt."""

    event_id = fields.UUID()
    type = fields.String()
    attempted_at = UTCDateTime()
    status_code = fields.Integer(
        allow_none=True, metadata={"description": "The receiver's HTTP status"}
    )
    error = fields.String(
        allow_none=True, metadata={"description": "Why no status: timeout, refused..."}
    )
