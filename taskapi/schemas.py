"""Marshmallow schemas: every check on what a client sends lives here."""

import re
import uuid
from datetime import datetime, time, timezone

import marshmallow as ma
from marshmallow import ValidationError, fields, validate
from sqlalchemy import Row

from .models import DEFAULT_PRIORITY, PRIORITIES, STATUSES, Task
from .recurrence import Recurrence, public_recurrence
from .reminders import Reminders

READ_ONLY_FIELDS = (
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "completed_at",
    "position",
    "series_id",
    "next_task_id",
)
MAX_TAGS = 20
# Deeper pages are refused (422) rather than sent to the database as an OFFSET.
MAX_PAGE_OFFSET = 2**31 - 1

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # date
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"  # time, seconds optional
    r"(?:[Zz]|[+-]\d{2}:\d{2})?)?"  # offset; none means UTC
)


# Fields ----------------------------------------------------------------------


def _rfc3339(value: datetime | None) -> str | None:
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


class Priority(Text):
    """`low`, `medium`, `high` or `urgent`, in any letter case."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=validate.OneOf(PRIORITIES),
            metadata={"enum": list(PRIORITIES)},
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).lower()


class Status(fields.String):
    """`pending`, `in_progress` or `completed`."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=validate.OneOf(STATUSES),
            metadata={"enum": list(STATUSES)},
            **kwargs,
        )


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
        return _rfc3339(value)

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


class Tags(fields.List):
    """Up to 20 tags of 1-50 characters: trimmed, lower-cased, duplicates merged."""

    def __init__(self, **kwargs):
        super().__init__(
            Text(strip=True, validate=validate.Length(1, 50)),
            validate=validate.Length(max=MAX_TAGS),
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and len(value) > MAX_TAGS:
            raise ValidationError(f"At most {MAX_TAGS} tags.")
        tags = super()._deserialize(value, attr, data, **kwargs)
        return list(dict.fromkeys(tag.lower() for tag in tags))


# Task bodies -------------------------------------------------------------------


class TaskSchema(ma.Schema):
    """A task, as the API answers it."""

    id = fields.UUID()
    user_id = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    completed = fields.Boolean()
    completed_at = UTCDateTime(allow_none=True)
    priority = fields.String(metadata={"enum": list(PRIORITIES)})
    due_date = UTCDateTime(allow_none=True)
    tags = fields.List(fields.String())
    list_id = fields.UUID(allow_none=True)
    parent_id = fields.UUID(allow_none=True)
    position = fields.String(
        metadata={"description": "Siblings sorted by it, as bytes: the user's order."}
    )
    recurrence = fields.Dict(
        allow_none=True,
        metadata={"description": '{"rule", "timezone", "from"}, or null'},
    )
    reminders = fields.List(
        fields.Dict(),
        metadata={"description": "Each with its remind_at (UTC), sorted by it."},
    )
    series_id = fields.UUID(allow_none=True)
    next_task_id = fields.UUID(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()

    # Written out: marshmallow's walk over the fields is several times slower
    # on a page of tasks (bench/seams.py).
    def _serialize(self, obj, *, many=False):
        """The fields above for a Task or a row of scope.task_columns(), as
        marshmallow writes them for a Task (tests/test_serialisation.py)."""
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        if not isinstance(obj, (Task, Row)) or set(self.dump_fields) != _TASK_FIELDS:
            return super()._serialize(obj)
        return {
            "id": str(obj.id),
            "user_id": obj.user_id,
            "title": obj.title,
            "description": obj.description,
            "status": obj.status,
            "completed": obj.completed,
            "completed_at": _rfc3339(obj.completed_at),
            "priority": PRIORITIES[obj.priority_rank],
            "due_date": _rfc3339(obj.due_date),
            "tags": list(obj.tags),
            "list_id": None if obj.list_id is None else str(obj.list_id),
            "parent_id": None if obj.parent_id is None else str(obj.parent_id),
            "position": obj.position,
            "recurrence": public_recurrence(obj.recurrence),
            "reminders": obj.reminders,
            "series_id": None if obj.series_id is None else str(obj.series_id),
            "next_task_id": None if obj.next_task_id is None else str(obj.next_task_id),
            "created_at": _rfc3339(obj.created_at),
            "updated_at": _rfc3339(obj.updated_at),
        }


_TASK_FIELDS = set(TaskSchema._declared_fields)


class _Input(ma.Schema):
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


class _TaskInput(_Input):
    """Fields a client may write; anything else in the body is a 422."""

    read_only_fields = READ_ONLY_FIELDS

    description = Text(allow_none=True, validate=validate.Length(max=2000))
    due_date = UTCDateTime(allow_none=True)
    tags = Tags(allow_none=True)
    status = Status()
    list_id = Reference()
    parent_id = Reference()
    recurrence = Recurrence()
    reminders = Reminders(allow_none=True)

    @ma.validates_schema(pass_original=True)
    def status_agrees_with_completed(self, data, original, **kwargs):
        # as sent: on create, `completed` has a default that says nothing
        sent = isinstance(original, dict) and "completed" in original
        both = "status" in data and sent
        if both and (data["status"] == "completed") != data["completed"]:
            raise ValidationError(
                "Disagrees with `completed`: send one of them, or both alike.",
                "status",
            )

    @ma.post_load
    def null_lists_are_empty(self, data, **kwargs):
        for name in ("tags", "reminders"):
            if name in data and data[name] is None:
                data[name] = []
        return data


class TaskCreateSchema(_TaskInput):
    title = Text(required=True, strip=True, validate=validate.Length(1, 200))
    completed = StrictBoolean(load_default=False)
    priority = Priority(load_default=DEFAULT_PRIORITY)


class TaskUpdateSchema(_TaskInput):
    """Every field optional; only the fields given are applied."""

    title = Text(strip=True, validate=validate.Length(1, 200))
    completed = StrictBoolean()
    priority = Priority()


class CompletionSchema(ma.Schema):
    """No body or `{}` toggles; `{"completed": true|false}` sets the value."""

    body_optional = True  # read by jsonio.Parser: an empty body is allowed here

    completed = StrictBoolean()


class MoveSchema(ma.Schema):
    """Where to put a task: right after `after` or right before `before` (both:
    they must be neighbours; neither: last), among the siblings of its new place
    (`list_id` and `parent_id` as given, else unchanged)."""

    after = Reference()
    before = Reference()
    list_id = Reference()
    parent_id = Reference()


# Lists -------------------------------------------------------------------------


class ListSchema(ma.Schema):
    """A list, as the API answers it."""

    id = fields.UUID()
    name = fields.String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class _ListInput(_Input):
    read_only_fields = ("id", "user_id", "created_at", "updated_at")


class ListCreateSchema(_ListInput):
    name = Text(required=True, strip=True, validate=validate.Length(1, 100))


class ListUpdateSchema(_ListInput):
    name = Text(strip=True, validate=validate.Length(1, 100))


# Query strings -----------------------------------------------------------------


SORT_KEYS = ("created_at", "updated_at", "due_date", "priority", "title", "position")
SORTS = (*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS))
# A search's cost grows with its length times each description's (listing.py).
MAX_QUERY_LENGTH = 200
DEFAULT_SORT = "-created_at"


class TaskQuerySchema(ma.Schema):
    """The listing's query string: filters, sort and page. `priority` and `tag`
    repeat (`?tag=home&tag=errands`); `search` is another name for `q`."""

    class Meta:
        unknown = ma.EXCLUDE  # unknown query parameters are ignored

    # Every other field is a filter, applied by listing.FILTERS (`search` is `q`).
    NOT_FILTERS = frozenset({"page", "per_page", "sort", "search"})

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 100))
    completed = QueryBoolean()
    status = fields.List(Status())
    list_id = QueryReference(
        metadata={"description": "A list's id, or `none` for tasks in no list."}
    )
    parent_id = QueryReference(
        metadata={"description": "A task's id (its subtasks), or `none` (top level)."}
    )
    priority = fields.List(Priority())
    tag = fields.List(Text(strip=True, validate=validate.Length(1, 50)))
    q = Text(
        strip=True,
        validate=validate.Length(max=MAX_QUERY_LENGTH),
        metadata={"description": "Case-insensitive substring of title or description."},
    )
    search = Text(
        strip=True,
        validate=validate.Length(max=MAX_QUERY_LENGTH),
        metadata={"description": "Another name for `q`."},
    )
    series_id = fields.UUID(
        metadata={"description": "The tasks of one recurring series."}
    )
    due_after = UTCDateTime(metadata={"description": "Inclusive."})
    due_before = UTCDateTime(metadata={"description": "Exclusive."})
    sort = fields.String(
        load_default=DEFAULT_SORT,
        validate=validate.OneOf(SORTS),
        metadata={"description": "A leading `-` means descending."},
    )

    @classmethod
    def filter_names(cls) -> list[str]:
        return [name for name in cls._declared_fields if name not in cls.NOT_FILTERS]

    @ma.validates_schema
    def page_within_reach(self, data, **kwargs):
        if (data["page"] - 1) * data["per_page"] > MAX_PAGE_OFFSET:
            raise ValidationError("Page is too large to serve.", "page")

    @ma.post_load
    def normalise(self, data, **kwargs):
        search = data.pop("search", None)
        data["q"] = data.get("q") or search or None  # empty means no search
        if "tag" in data:
            data["tag"] = list(dict.fromkeys(tag.lower() for tag in data["tag"]))
        return data


# Headers -----------------------------------------------------------------------


class IdempotencyKeySchema(ma.Schema):
    """The optional `Idempotency-Key` header of POST /tasks."""

    class Meta:
        unknown = ma.EXCLUDE  # every other header is none of this schema's business

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(
            # 1-255 printable ASCII characters, no space at either end (an
            # ECMA-262 pattern too, as OpenAPI tools read it)
            r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$",
            error="Must be 1-255 printable ASCII characters, with no space at "
            "either end (a UUID is a good key).",
        ),
        metadata={
            "description": "Retrying with the same key and body answers the first "
            "201 again instead of creating another task (keys last 24 hours)."
        },
    )
