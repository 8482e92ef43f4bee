"""Marshmallow schemas of invitations and members: what an owner or an invited
user sends, and what they read."""

import marshmallow as ma
from marshmallow import fields, validate

from ..core.fields import Input, Text, UTCDateTime
from ..core.memberships import MEMBER_ROLES, OWNER

DEFAULT_DAYS = 7
MAX_CODE_LENGTH = 200  # a code is 32 characters; anything far longer is no code


def member_role():
    return fields.String(
        required=True,
        validate=validate.OneOf(MEMBER_ROLES),
        metadata={"description": "editor: reads and writes the tasks; viewer: reads"},
    )


class InvitationCreateSchema(Input):
    read_only_fields = ("id", "list_id", "expires_at", "uses", "created_at", "code")

    role = member_role()
    expires_in_days = fields.Integer(
        strict=True, load_default=DEFAULT_DAYS, validate=validate.Range(1, 30)
    )
    max_uses = fields.Integer(
        strict=True, load_default=1, validate=validate.Range(1, 50)
    )


class InvitationSchema(ma.Schema):
    """An invitation, as its list's owner reads it (never the code)."""

    id = fields.UUID()
    role = fields.String()
    expires_at = UTCDateTime()
    max_uses = fields.Integer()
    uses = fields.Integer()
    created_at = UTCDateTime()


class NewInvitationSchema(InvitationSchema):
    """The answer to its creation: the only one that shows the code."""

    code = fields.String(
        metadata={
            "description": "What the invited user sends to POST /invitations/accept "
            "(shown once; only its SHA-256 is kept)."
        }
    )


class AcceptSchema(Input):
    code = Text(required=True, validate=validate.Length(1, MAX_CODE_LENGTH))


class MemberSchema(ma.Schema):
    """Someone in a list: its owner (first), or a member."""

    user_id = fields.String()
    role = fields.String(metadata={"enum": [OWNER, *MEMBER_ROLES]})
    joined_at = UTCDateTime(
        metadata={"description": "The owner's is the list's created_at."}
    )


class MemberUpdateSchema(Input):
    read_only_fields = ("user_id", "joined_at")

    role = member_role()
