"""Marshmallow fields of a task's `recurrence`: `{"rule", "timezone", "from"}`,
checked by recurrence/rules.py."""

from marshmallow import Schema, ValidationError, fields, validate

from .rules import STARTS, RecurrenceError, parse_rule, zone_name


class RuleField(fields.String):
    """An RRULE value; loads as its normalised text (upper case, no `RRULE:`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_rule(value).text
        except RecurrenceError as error:
            raise ValidationError(str(error)) from None


class TimeZoneField(fields.String):
    """An IANA time-zone name; loads in its IANA spelling."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return zone_name(value)
        except RecurrenceError as error:
            raise ValidationError(str(error)) from None


class RecurrenceSchema(Schema):
    """`{"rule", "timezone", "from"}`; unknown keys are refused."""

    rule = RuleField(
        required=True,
        metadata={
            "description": "RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO,TH",
            "example": "FREQ=WEEKLY;BYDAY=MO,TH",
        },
    )
    timezone = TimeZoneField(
        load_default="UTC", metadata={"description": "IANA time-zone name"}
    )
    from_ = fields.String(
        data_key="from",
        attribute="from",
        load_default="due",
        validate=validate.OneOf(STARTS),
        metadata={"description": "count from the due date or from the completion"},
    )


class Recurrence(fields.Nested):
    """A task's `recurrence`: a RecurrenceSchema object, or null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        super().__init__(RecurrenceSchema, **kwargs)
