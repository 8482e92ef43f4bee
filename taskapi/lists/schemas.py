"""Marshmallow schemas of lists: what a client sends, and what it reads."""

import marshmallow as ma
from marshmallow import fields, validate

from ..core.fields import Input, Text, UTCDateTime
from ..core.memberships import MEMBER_ROLES, OWNER


class ListSchema(ma.Schema):
    """A list, as the API answers it to one user."""

    id = fields.UUID()
    name = fields.String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    owner_id = fields.String(metadata={"description": "The user who owns the list."})
    role = fields.String(
        metadata={
            "description": "The caller's role in the list.",
            "enum": [OWNER, *MEMBER_ROLES],
        }
    )
    member_count = fields.Integer(metadata={"description": "The owner included."})


class _ListInput(Input):
    read_only_fields = (
        "id",
        "user_id",
        "created_at",
        "updated_at",
        "owner_id",
        "role",
        "member_count",
    )


class ListCreateSchema(_ListInput):
    name = Text(required=True, strip=True, validate=validate.Length(1, 100))


class ListUpdateSchema(_ListInput):
    name = Text(strip=True, validate=validate.Length(1, 100))
