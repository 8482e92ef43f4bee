"""Field types of the API's bodies and query strings, for every domain's schemas:
text without NUL or lone surrogates, strict booleans, references to another of the
user's objects, RFC 3339 date-times in UTC, and the base of a body a client writes.
Imports marshmallow only."""

import re
import uuid
from datetime import datetime, time, timezone

import marshmallow as ma
from marshmallow import ValidationError, fields, validate

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # date
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"  # time, seconds optional
    r"(?:[Zz]|[+-]\d{2}:\d{2})?)?"  # offset; none means UTC
)


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:  # what the database gives is UTC already
        value = value.astimezone(timezone.utc)
    return value.isoformat().replace("+00:00", "Z")


class Text(fields.String):
    """A string of Unicode text: no NUL, no lone surrogates; optionally trimmed.

    A trimmed field checks its `validate.Length` on the trimmed text. The OpenAPI
    document cannot say "after trimming", so it states the rule in words, and of
    the limits only `minLength`, which the untrimmed string must meet too."""

    def __init__(self, *, strip: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.strip = strip
        self.trimmed_lengths = []
        if strip:
            self.trimmed_lengths = [
                v for v in self.validators if isinstance(v, validate.Length)
            ]
            self.validators = [
                v for v in self.validators if v not in self.trimmed_lengths
            ]
            self.metadata = {**self.metadata, **self._document(self.trimmed_lengths)}

    def _document(self, lengths) -> dict:
        rule = "Trimmed of surrounding white space"
        for length in lengths:
            if length.max is None:
                rule += f", then at least {length.min} characters"
            elif not length.min:
                rule += f", then at most {length.max} characters"
            else:
                rule += f", then {length.min}-{length.max} characters"
        described = self.metadata.get("description")
        docs = {"description": f"{described} {rule}." if described else f"{rule}."}
        minimum = max((length.min or 0 for length in lengths), default=0)
        maximum = min((v.max for v in lengths if v.max is not None), default=None)
        if maximum is not None:
            # for readers that take the limit as a keyword (mcp/schemas.py)
            docs["x-trimmed"] = {"rule": f"{rule}.", "maxLength": maximum}
        return {**docs, "minLength": minimum} if minimum else docs

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:
            raise ValidationError("Must not contain NUL characters.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Must be valid Unicode text.") from None
        if not self.strip:
            return value
        value = value.strip()
        for length in self.trimmed_lengths:
            length(value)
        return value


class StrictBoolean(fields.Boolean):
    """JSON `true` or `false`, nothing else (not 1, not "yes")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class QueryBoolean(fields.Boolean):
    """`true` or `false` in a query string."""

    truthy = {"true"}
    falsy = {"false"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.lower()
        return super()._deserialize(value, attr, data, **kwargs)


class Reference(fields.UUID):
    """The id of another of the user's objects, or null. Whether it exists is
    the queries' business (422 "not found" on the field)."""

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, **kwargs)


class QueryReference(fields.String):
    """A query's reference: an object's id, or `none` (no list / no parent).
    Loads as a UUID, or the string "none"."""

    NONE = "none"

    def __init__(self, **kwargs):
        super().__init__(
            metadata={
                "pattern": "^(none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                "[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
                **kwargs.pop("metadata", {}),
            },
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value == self.NONE:
            return value
        try:
            if len(value) != 36:
                raise ValueError
            return uuid.UUID(value)
        except ValueError:
            raise ValidationError("Must be an id (a UUID) or `none`.") from None


class UTCDateTime(fields.DateTime):
    """RFC 3339 in UTC with a `Z`. Input: a date-time (no offset means UTC) or a
    bare date (midnight UTC)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return rfc3339(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _RFC3339.fullmatch(value):
            raise ValidationError(
                "Not a valid RFC 3339 date-time (e.g. 2026-12-01T09:00:00Z) or date "
                "(2026-12-01)."
            )
        try:
            parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
            if len(value) == 10:
                parsed = datetime.combine(parsed.date(), time())
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            raise ValidationError("Not a valid date-time: out of range.") from None


class Input(ma.Schema):
    """A body a client writes: its read-only fields are refused by name (422),
    anything else unknown by marshmallow."""

    read_only_fields: tuple[str, ...] = ()

    @ma.pre_load
    def refuse_read_only_fields(self, data, **kwargs):
        if isinstance(data, dict):
            present = [name for name in self.read_only_fields if name in data]
            if present:
                raise ValidationError(
                    {name: ["Read-only field: the server sets it."] for name in present}
                )
        return data
