"""The database's own rules for the change feed: every write to `tasks`, `lists`
or `list_members` sets the row's `change_xid` to the writing transaction's id
(migrations 0008 and 0014), the order the feed reads changes in (service.py);
a task that leaves a list leaves a row in `task_departures` (migration 0014), so
that the list's members who no longer see it hear of it.

Registered in migrations/env.py with alembic_utils, so `flask db check` compares
it with the database (see tasks/triggers.py). PostgreSQL only: on SQLite, for
development, migration 0008's own triggers bump a counter instead, and Alembic
cannot compare those.
"""

from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger

SET_CHANGE_XID = PGFunction(
    schema="public",
    signature="set_change_xid()",
    definition="""RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_xid := pg_current_xact_id()::text::bigint;
        RETURN NEW;
    END $$""",
)


def _numbered(table: str) -> PGTrigger:
    return PGTrigger(
        schema="public",
        signature=f"{table}_change_xid",
        on_entity=f"public.{table}",
        definition=f"BEFORE INSERT OR UPDATE ON public.{table} "
        "FOR EACH ROW EXECUTE FUNCTION set_change_xid()",
    )


TASK_DEPARTURES_RECORD = PGFunction(
    schema="public",
    signature="task_departures_record()",
    definition="""RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO task_departures (task_id, list_id, change_xid)
        VALUES (OLD.id, OLD.list_id, pg_current_xact_id()::text::bigint);
        RETURN NULL;
    END $$""",
)

TASK_DEPARTURES = PGTrigger(
    schema="public",
    signature="task_departures",
    on_entity="public.tasks",
    definition="AFTER UPDATE ON public.tasks FOR EACH ROW "
    "WHEN (OLD.list_id IS NOT NULL AND OLD.list_id IS DISTINCT FROM NEW.list_id) "
    "EXECUTE FUNCTION task_departures_record()",
)

ENTITIES = [
    SET_CHANGE_XID,
    _numbered("tasks"),
    _numbered("lists"),
    _numbered("list_members"),
    TASK_DEPARTURES_RECORD,
    TASK_DEPARTURES,
]
