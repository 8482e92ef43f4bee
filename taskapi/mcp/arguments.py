"""Marshmallow schemas of the arguments only the MCP tools take: the plural
tools' item lists, find_tasks's paging, search and fetch. The items themselves
are the REST bodies, loaded by the REST schemas on the batch path."""

import marshmallow as ma
from marshmallow import fields, validate

from ..core.fields import StrictBoolean, Text
from ..tasks.schemas import MAX_QUERY_LENGTH

# Items per plural call: a model's reply stays short, and a failure names one of few.
MAX_ITEMS = 25
ITEMS = validate.Length(1, MAX_ITEMS)
TASK_ID = fields.String(validate=validate.Length(1, 100))


class AddTasksArguments(ma.Schema):
    tasks = fields.List(
        fields.Dict(),
        required=True,
        validate=ITEMS,
        metadata={"description": "Each a task as add_task takes it."},
    )


class UpdateTasksArguments(ma.Schema):
    updates = fields.List(
        fields.Dict(),
        required=True,
        validate=ITEMS,
        metadata={
            "description": 'Each {"id", <fields to change>}: the fields update_task '
            "takes; null clears one."
        },
    )


class DeleteTasksArguments(ma.Schema):
    ids = fields.List(TASK_ID, required=True, validate=ITEMS)


class CompleteTasksArguments(DeleteTasksArguments):
    completed = StrictBoolean(
        load_default=True, metadata={"description": "false reopens them."}
    )


class FindTasksArguments(ma.Schema):
    """find_tasks's paging; its filters are the listing's (TaskQuerySchema)."""

    class Meta:
        unknown = ma.EXCLUDE  # the filters, loaded by the listing's schema

    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = fields.String(
        validate=validate.Length(1, 500),
        metadata={"description": "The last page's next_cursor."},
    )


class SearchArguments(ma.Schema):
    query = Text(
        required=True,
        strip=True,
        validate=validate.Length(max=MAX_QUERY_LENGTH),
        metadata={"description": "Words in the title or description."},
    )


class FetchArguments(ma.Schema):
    id = fields.String(
        required=True,
        validate=validate.Length(1, 100),
        metadata={"description": "A task id from search."},
    )
