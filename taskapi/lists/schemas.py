"""Marshmallow schemas of lists: what a client sends, and what it reads."""

import marshmallow as ma
from marshmallow import fields, validate

from ..core.fields import Input, Text, UTCDateTime


class ListSchema(ma.Schema):
    """A list, as the API answers it."""

    id = fields.UUID()
    name = fields.String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class _ListInput(Input):
    read_only_fields = ("id", "user_id", "created_at", "updated_at")


class ListCreateSchema(_ListInput):
    name = Text(required=True, strip=True, validate=validate.Length(1, 100))


class ListUpdateSchema(_ListInput):
    name = Text(strip=True, validate=validate.Length(1, 100))
