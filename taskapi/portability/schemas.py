"""The import's checks: the document's head, each list by the rules of
POST /lists and each task by the rules of POST /tasks (TaskCreateSchema), with
the references the document holds (ids within it) checked apart."""

import marshmallow as ma
from marshmallow import ValidationError, fields, validate

from ..core.fields import Text, UTCDateTime
from ..lists.schemas import ListCreateSchema
from ..lists.service import MAX_LISTS
from ..tasks.schemas import TaskCreateSchema
from .document import FORMAT, VERSION

MAX_IMPORT_TASKS = 10_000
# What the document says of a task beyond what a create takes: its ids within
# the document and its history, mapped or kept by the import (importer.py);
# and what the server sets whoever imports (its owner, creator, last change).
REFERENCES = ("id", "list_id", "parent_id", "series_id", "next_task_id")
KEPT = ("position", "created_at", "completed_at", "assignee_id")
SET_BY_THE_SERVER = ("user_id", "created_by", "updated_at")


class ImportedSchema(ma.Schema):
    """What an import created."""

    lists = fields.Integer()
    tasks = fields.Integer()


class DocumentSchema(ma.Schema):
    """The document's head; its lists and tasks are checked one by one
    (entries()), so that an error names the index of the one that failed."""

    class Meta:
        unknown = ma.EXCLUDE  # exported_at, user_id, webhooks: not imported

    format = fields.String(required=True, validate=validate.Equal(FORMAT))
    version = fields.Integer(
        required=True, strict=True, validate=validate.Equal(VERSION)
    )
    lists = fields.List(
        fields.Raw(), load_default=list, validate=validate.Length(max=MAX_LISTS)
    )
    tasks = fields.List(
        fields.Raw(),
        required=True,
        validate=validate.Length(
            max=MAX_IMPORT_TASKS,
            error=f"At most {MAX_IMPORT_TASKS:,} tasks in one import.",
        ),
    )


class _EntrySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # the rest is the create schema's to check

    id = Text(required=True, validate=validate.Length(1, 255))
    created_at = UTCDateTime(allow_none=True)


class TaskEntrySchema(_EntrySchema):
    """A task's references and history in the document."""

    list_id = Text(allow_none=True, validate=validate.Length(1, 255))
    parent_id = Text(allow_none=True, validate=validate.Length(1, 255))
    series_id = Text(allow_none=True, validate=validate.Length(1, 255))
    next_task_id = Text(allow_none=True, validate=validate.Length(1, 255))
    position = Text(allow_none=True, validate=validate.Length(1, 255))
    completed_at = UTCDateTime(allow_none=True)
    assignee_id = fields.String(allow_none=True)


def _loaded_together(entry, parts) -> list[dict]:
    """Each (schema, data) of `parts` loaded; one ValidationError with every
    field that failed, of all of them."""
    if not isinstance(entry, dict):
        raise ValidationError({"_schema": ["Must be an object."]})
    errors, loaded = {}, []
    for schema, data in parts:
        try:
            loaded.append(schema.load(data))
        except ValidationError as error:
            errors.update(error.normalized_messages())
    if errors:
        raise ValidationError(errors)
    return loaded


def load_list(entry) -> dict:
    """A list of the document: its id in it, and a name as POST /lists takes."""
    ids, named = _loaded_together(
        entry,
        [(_ENTRY, entry), (_LIST, {"name": _get(entry, "name")})],
    )
    return {**ids, **named}


# Loading is stateless: one instance of each serves every entry.
_ENTRY, _LIST, _TASK_ENTRY, _TASK = (
    _EntrySchema(),
    ListCreateSchema(),
    TaskEntrySchema(),
    TaskCreateSchema(),
)


def _get(entry, name):
    return entry.get(name) if isinstance(entry, dict) else None


def _as_created(entry: dict) -> dict:
    """The fields a create takes: the rest of the entry, each reminder without
    the `remind_at` the export shows (the server works it out again)."""
    if not isinstance(entry, dict):
        return {}
    fields_ = {
        name: value
        for name, value in entry.items()
        if name not in (*REFERENCES, *KEPT, *SET_BY_THE_SERVER)
    }
    reminders = fields_.get("reminders")
    if isinstance(reminders, list):
        fields_["reminders"] = [
            {k: v for k, v in r.items() if k != "remind_at"}
            if isinstance(r, dict)
            else r
            for r in reminders
        ]
    return fields_


def load_task(entry) -> tuple[dict, dict]:
    """(the entry's references and history, its fields as a create loads them);
    a ValidationError holds every field that failed, of both."""
    entry_fields, created = _loaded_together(
        entry,
        [(_TASK_ENTRY, entry), (_TASK, _as_created(entry))],
    )
    return entry_fields, created
