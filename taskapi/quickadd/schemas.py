"""Marshmallow schemas of quick add: the body `{"text", "timezone"}`, the
`?preview` query, the preview's answer, and the check of the task the text
describes (the create's own schema, its errors named `text`)."""

import marshmallow as ma
from marshmallow import ValidationError, fields, validate

from ..core.fields import Input, QueryBoolean, Text, UTCDateTime
from ..recurrence.schemas import TimeZoneField
from ..tasks.models import PRIORITIES
from ..tasks.schemas import TaskCreateSchema
from .grammar import KINDS

# The text holds the title (at most 200 characters) and the parts around it.
MAX_TEXT_LENGTH = 1000


class QuickAddSchema(Input):
    """`{"text", "timezone"}`: the line as typed, and the IANA time zone its
    dates are in (default UTC)."""

    text = Text(
        required=True,
        validate=validate.Length(1, MAX_TEXT_LENGTH),
        metadata={
            "description": "One line as typed, e.g. `Buy milk tomorrow at 5pm p2 "
            "@shop #groceries`: the recognised parts are taken out, the rest is "
            "the title.",
            "example": "Buy milk tomorrow at 5pm p2 @shop #groceries",
        },
    )
    timezone = TimeZoneField(
        load_default="UTC",
        metadata={"description": "IANA time-zone name the dates are read in"},
    )

    @ma.validates("text")
    def not_blank(self, value, **kwargs):
        if not value.strip():
            raise ValidationError("Must not be empty or white space only.")


class QuickQuerySchema(ma.Schema):
    """`?preview=true`: say what the task would be, create nothing."""

    class Meta:
        unknown = ma.EXCLUDE

    preview = QueryBoolean(
        load_default=False,
        metadata={
            "description": "`true`: answer 200 with the task that would be "
            "created and the parsed spans; nothing is created."
        },
    )


class SpanSchema(ma.Schema):
    start = fields.Integer(metadata={"description": "offset in code points"})
    end = fields.Integer(metadata={"description": "offset in code points, exclusive"})
    kind = fields.String(metadata={"enum": list(KINDS)})


class QuickPreviewSchema(ma.Schema):
    """The fields the task would get, and where in `text` each part was found."""

    title = fields.String()
    priority = fields.String(metadata={"enum": list(PRIORITIES)})
    tags = fields.List(fields.String())
    list_id = fields.UUID(allow_none=True)
    due_date = UTCDateTime(allow_none=True)
    recurrence = fields.Dict(
        allow_none=True,
        metadata={"description": '{"rule", "timezone", "from"}, or null'},
    )
    parsed = fields.List(fields.Nested(SpanSchema))


class ParsedTaskSchema(TaskCreateSchema):
    """The task a text describes, checked as POST /tasks checks a body; its
    title's errors are the text's (nothing left, or over 200 characters)."""

    def handle_error(self, error, data, **kwargs):
        messages = error.messages if isinstance(error.messages, dict) else {}
        if "title" in messages:
            title = data.get("title", "") if isinstance(data, dict) else ""
            if not title.strip():
                message = (
                    "Nothing is left for the title: the text is only dates, "
                    "times, recurrences, priorities, tags or lists."
                )
            else:
                message = (
                    "The title (the text without its recognised parts) must be "
                    f"1-200 characters; it is {len(title.strip())}."
                )
            raise ValidationError({"text": [message]}) from error
        raise ValidationError({"text": [str(messages or error)]}) from error
