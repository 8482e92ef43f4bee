"""Marshmallow schemas of calendar feeds: what a user asks for, and what they read."""

import marshmallow as ma
from marshmallow import fields

from ..core.fields import Input, Reference, UTCDateTime


class FeedCreateSchema(Input):
    read_only_fields = ("id", "created_at", "url")

    list_id = Reference(
        load_default=None,
        metadata={
            "description": "A list the user sees: a feed of its tasks only. "
            "null: every dated task the user sees."
        },
    )


class FeedSchema(ma.Schema):
    """A calendar feed, as the API lists it (never its URL: it holds the secret)."""

    id = fields.UUID()
    list_id = fields.UUID(allow_none=True)
    created_at = UTCDateTime()


class NewFeedSchema(FeedSchema):
    """The answer to its creation: the only one that shows the URL."""

    url = fields.String(
        metadata={
            "description": "The iCalendar URL to subscribe to (shown once): "
            "anyone who has it reads the feed; revoke the feed to cut access."
        }
    )
