"""Marshmallow schemas of access tokens: what a user asks for, and what they read."""

import marshmallow as ma
from marshmallow import fields, validate

from ..core.fields import Input, Text, UTCDateTime
from ..core.routes import SCOPES

DEFAULT_DAYS = 90


class Scopes(fields.List):
    """A non-empty subset of the scopes, duplicates merged."""

    def __init__(self, **kwargs):
        super().__init__(
            fields.String(validate=validate.OneOf(SCOPES)),
            validate=validate.Length(1, 4 * len(SCOPES)),
            metadata={
                "description": f"Any of {', '.join(SCOPES)}: tasks:write brings "
                "tasks:read; the MCP tools need mcp and tasks:read or tasks:write."
            },
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        return list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs)))


class TokenCreateSchema(Input):
    read_only_fields = ("id", "created_at", "expires_at", "last_used_at", "token")

    name = Text(required=True, strip=True, validate=validate.Length(1, 100))
    scopes = Scopes(required=True)
    expires_in_days = fields.Integer(
        strict=True, load_default=DEFAULT_DAYS, validate=validate.Range(1, 366)
    )


class TokenSchema(ma.Schema):
    """An access token, as the API answers it (never the secret)."""

    id = fields.UUID()
    name = fields.String()
    scopes = fields.List(fields.String())
    created_at = UTCDateTime()
    expires_at = UTCDateTime()
    last_used_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "Updated at most once a minute; null if never."},
    )


class NewTokenSchema(TokenSchema):
    """The answer to its creation: the only one that shows the token."""

    token = fields.String(
        metadata={
            "description": "tsk_...: send it as `Authorization: Bearer` (shown once)."
        }
    )
