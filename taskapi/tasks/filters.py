"""The listing's filters: the conditions each filter of TaskQuerySchema adds,
given its value and the dialect; a filter the schema has and FILTERS lacks
stops the app from starting."""

from sqlalchemy import func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from ..core.fields import QueryReference
from .models import PRIORITY_RANK, TASKS
from .schemas import AssigneeQuery, TaskQuerySchema


def _tags_filter(tags: list[str], dialect: str) -> list:
    """The task carries every one of `tags`."""
    if dialect == "postgresql":  # one containment test, served by the GIN index
        return [type_coerce(TASKS.tags, JSONB).contains(tags)]
    conditions = []
    for tag in tags:
        each = func.json_each(TASKS.tags).table_valued("value")
        match = select(literal(1)).select_from(each).where(each.c.value == tag)
        conditions.append(match.exists())
    return conditions


def _q_filter(text: str, dialect: str) -> list:
    """`text` anywhere in the title or description, letter case ignored.

    Not ILIKE '%text%': PostgreSQL's LIKE retries the whole pattern at every
    byte of the text, so a crafted `q` cost up to length x length steps per task
    (7.7 ms each for a 2,000-character `q` of four-byte characters). A regular
    expression after the `***=` director is the text taken literally, matched by
    PostgreSQL's automaton in one pass, and still served by the trigram indexes.
    SQLite's lower() and instr() fold letter case as its LIKE does (ASCII only).
    """
    if dialect == "postgresql":
        literal_text = f"***={text}"
        return [
            or_(
                TASKS.title.regexp_match(literal_text, flags="i"),
                TASKS.description.regexp_match(literal_text, flags="i"),
            )
        ]
    needle = func.lower(text)
    return [
        or_(
            func.instr(func.lower(TASKS.title), needle) > 0,
            func.instr(func.lower(TASKS.description), needle) > 0,
        )
    ]


def _priority_filter(names: list[str], _dialect: str) -> list:
    return [TASKS.priority.in_(sorted({PRIORITY_RANK[name] for name in names}))]


def _reference_filter(column):
    """`none`: the column is NULL; an id: it names that list or task."""

    def condition(value, _dialect: str) -> list:
        return [column.is_(None) if value == QueryReference.NONE else column == value]

    return condition


# The conditions of each filter of TaskQuerySchema, given its value and the dialect.
FILTERS = {
    "completed": lambda completed, _dialect: [TASKS.completed.is_(completed)],
    "status": lambda statuses, _dialect: [TASKS.status.in_(sorted(set(statuses)))],
    "list_id": _reference_filter(TASKS.list_id),
    "parent_id": _reference_filter(TASKS.parent_id),
    "priority": _priority_filter,
    "tag": _tags_filter,
    "q": _q_filter,
    "series_id": lambda series_id, _dialect: [TASKS.series_id == series_id],
    "assignee_id": lambda assignee, _dialect: [
        TASKS.assignee_id.is_(None)
        if assignee == AssigneeQuery.NONE
        else TASKS.assignee_id == assignee
    ],
    "due_after": lambda after, _dialect: [TASKS.due_date >= after],
    "due_before": lambda before, _dialect: [TASKS.due_date < before],
}


def check_filters(schema=TaskQuerySchema) -> None:
    """Refuse to start with a filter in the schema that FILTERS does not apply:
    it would be accepted, then silently ignored."""
    unhandled = set(schema.filter_names()) - FILTERS.keys()
    if unhandled:
        raise RuntimeError(
            f"{schema.__name__} filters with no condition in filters.FILTERS: "
            f"{', '.join(sorted(unhandled))}"
        )


check_filters()


def conditions_of(query: dict, dialect: str) -> list:
    """The conditions of the query's filters (every one but list_id's and
    parent_id's scope, which listing.py's branches add)."""
    conditions = []
    for name, condition in FILTERS.items():
        if query.get(name) is not None:
            conditions.extend(condition(query[name], dialect))
    return conditions
