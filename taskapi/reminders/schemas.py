"""Marshmallow fields of a task's `reminders`: up to 5 of `{"before": <duration>}`
or `{"at": <RFC 3339>}` (their rules: reminders/rules.py)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..core.fields import UTCDateTime
from .rules import MAX_REMINDERS, parse_duration


class Duration(fields.String):
    """A `before` duration; loads as given, in upper case."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        parse_duration(value)
        return value.upper()


class ReminderSchema(Schema):
    """One reminder: exactly one of `before` or `at`."""

    before = Duration(metadata={"description": "before the due date, e.g. PT15M"})
    at = UTCDateTime(metadata={"description": "a fixed instant"})
    remind_at = UTCDateTime(dump_only=True)

    @validates_schema
    def one_of_before_or_at(self, data, **kwargs):
        if len(data) != 1:
            raise ValidationError("Give exactly one of `before` or `at`.")


class Reminders(fields.List):
    """A task's `reminders`: up to 5 ReminderSchema objects."""

    def __init__(self, **kwargs):
        super().__init__(
            fields.Nested(ReminderSchema),
            validate=validate.Length(
                max=MAX_REMINDERS, error=f"At most {MAX_REMINDERS} reminders."
            ),
            **kwargs,
        )
