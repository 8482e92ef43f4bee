"""The database's own rule for the change feed: every write to `tasks` or `lists`
sets the row's `change_xid` to the writing transaction's id (migration 0008 made
it), the order the feed reads changes in (service.py).

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


ENTITIES = [SET_CHANGE_XID, _numbered("tasks"), _numbered("lists")]
