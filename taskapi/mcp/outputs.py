"""What each tool answers, as typed dicts, and their JSON schemas (the tools'
`outputSchema`), made by pydantic as the SDK's MCPServer makes them from a tool's
return type.

A task is the REST task, described by its id and title; its other fields are
allowed without being listed (the tools' input schemas name them): the whole
tools/list answer stays small enough for a model's context.
"""

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from typing_extensions import TypedDict

Id = str


class Task(TypedDict):
    id: Id
    title: str


class TaskList(TypedDict):
    id: Id
    name: str


class OneTask(TypedDict):
    task: Task


class Tasks(TypedDict):
    tasks: list[Task]


class TaskPage(TypedDict):
    tasks: list[Task]
    total: int


class FoundTasks(TypedDict):
    tasks: list[Task]
    next_cursor: str | None


class Deleted(TypedDict):
    deleted: Id


class DeletedMany(TypedDict):
    deleted: list[Id]


class Lists(TypedDict):
    lists: list[TaskList]


class OneList(TypedDict):
    list: TaskList


class SearchResult(TypedDict):
    id: Id
    title: str
    url: str


class SearchResults(TypedDict):
    results: list[SearchResult]


class Document(TypedDict):
    id: Id
    title: str
    text: str
    url: str
    metadata: dict[str, Any]


class _Untitled(GenerateJsonSchema):
    """pydantic's schema less the titles it makes up from the names ("Due Date"):
    they say nothing a model needs, in every property of every tool."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def typed_dict_schema(self, schema):
        out = super().typed_dict_schema(schema)
        out.pop("title", None)
        return out


def _inlined(node, definitions: dict):
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inlined(definitions[node["$ref"].rsplit("/", 1)[1]], definitions)
    return {key: _inlined(value, definitions) for key, value in node.items()}


def output_schema(answer: type) -> dict:
    """The JSON schema of a tool's structured content, its definitions inlined
    (none refers to itself)."""
    schema = TypeAdapter(answer).json_schema(schema_generator=_Untitled)
    return _inlined(schema, schema.pop("$defs", {}))
