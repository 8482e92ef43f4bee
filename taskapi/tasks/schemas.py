"""Marshmallow schemas of tasks: every check on what a client sends of a task, its
query string and its headers (the field types are core/fields.py's)."""

import marshmallow as ma
from marshmallow import ValidationError, fields, validate
from sqlalchemy import Row

from ..core.fields import (
    Input,
    QueryBoolean,
    QueryReference,
    Reference,
    StrictBoolean,
    Text,
    UTCDateTime,
    rfc3339,
)
from ..core.users import MAX_USER_ID_LENGTH, usable_id
from ..recurrence.dates import public_recurrence
from ..recurrence.schemas import Recurrence
from ..reminders.schemas import Reminders
from .models import DEFAULT_PRIORITY, PRIORITIES, STATUSES, Task

READ_ONLY_FIELDS = (
    "id",
    "user_id",
    "created_by",
    "created_at",
    "updated_at",
    "completed_at",
    "position",
    "series_id",
    "next_task_id",
)
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
# Deeper pages are refused (422) rather than sent to the database as an OFFSET.
MAX_PAGE_OFFSET = 2**31 - 1

# Fields ----------------------------------------------------------------------


class UserId(Text):
    """A user's id: 1-255 characters a database and a log line can hold."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not usable_id(value):
            raise ValidationError(
                f"Must be a user id of 1-{MAX_USER_ID_LENGTH} characters."
            )
        return value


class AssigneeQuery(fields.String):
    """The listing's assignee filter: a user's id, `me`, or `none` (unassigned)."""

    ME, NONE = "me", "none"

    def __init__(self, **kwargs):
        super().__init__(
            metadata={"description": "A user's id, `me`, or `none` (unassigned)."},
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not usable_id(value):
            raise ValidationError("Must be a user's id, `me` or `none`.")
        return value


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


class Tags(fields.List):
    """Up to 20 tags of 1-50 characters: trimmed, lower-cased, duplicates merged."""

    def __init__(self, **kwargs):
        super().__init__(
            Text(strip=True, validate=validate.Length(1, MAX_TAG_LENGTH)),
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
    user_id = fields.String(
        metadata={"description": "The owner of its place: the list's, or the inbox's."}
    )
    created_by = fields.String(allow_none=True)
    assignee_id = fields.String(allow_none=True)
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
        """The fields above for a Task or a row of models.task_columns(), as
        marshmallow writes them for a Task (tests/tasks/test_serialisation.py)."""
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        if not isinstance(obj, (Task, Row)) or set(self.dump_fields) != _TASK_FIELDS:
            return super()._serialize(obj)
        return {
            "id": str(obj.id),
            "user_id": obj.user_id,
            "created_by": obj.created_by,
            "assignee_id": obj.assignee_id,
            "title": obj.title,
            "description": obj.description,
            "status": obj.status,
            "completed": obj.completed,
            "completed_at": rfc3339(obj.completed_at),
            "priority": PRIORITIES[obj.priority_rank],
            "due_date": rfc3339(obj.due_date),
            "tags": list(obj.tags),
            "list_id": None if obj.list_id is None else str(obj.list_id),
            "parent_id": None if obj.parent_id is None else str(obj.parent_id),
            "position": obj.position,
            "recurrence": public_recurrence(obj.recurrence),
            "reminders": obj.reminders,
            "series_id": None if obj.series_id is None else str(obj.series_id),
            "next_task_id": None if obj.next_task_id is None else str(obj.next_task_id),
            "created_at": rfc3339(obj.created_at),
            "updated_at": rfc3339(obj.updated_at),
        }


_TASK_FIELDS = set(TaskSchema._declared_fields)


class _TaskInput(Input):
    """Fields a client may write; anything else in the body is a 422."""

    read_only_fields = READ_ONLY_FIELDS

    description = Text(allow_none=True, validate=validate.Length(max=2000))
    due_date = UTCDateTime(allow_none=True)
    tags = Tags(allow_none=True)
    status = Status()
    list_id = Reference()
    parent_id = Reference()
    assignee_id = UserId(
        allow_none=True,
        metadata={"description": "Someone who sees the task's list, or null."},
    )
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

    # Every other field is a filter, applied by filters.FILTERS (`search` is `q`).
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
    assignee_id = AssigneeQuery()
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
