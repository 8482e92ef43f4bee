"""Indexes for the listing: every sort key, the filters, and `q` search.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

All indexes cover one user's live tasks (`deleted_at IS NULL`), the rows every
listing reads. Sorts: (user_id, <key>, id) in the listing's exact order, so page 1
is an index walk that stops after `per_page` rows whatever the user's task count.
Filters: `completed` (open tasks, newest first), `tag` (GIN on the JSONB array,
queried with `@>`), `q` (pg_trgm GIN on title and description, queried with
ILIKE).

PostgreSQL also keeps each user's count of live tasks in `task_counts`, maintained
by statement-level triggers on `tasks` (insert, update, delete, truncate), so the
unfiltered listing's X-Total-Count is one row read instead of a COUNT over all of
the user's tasks: page 1 of 100,000 tasks then costs what page 1 of 100 does. A
filtered listing still counts its matches. (Not on SQLite, for development only,
where a batch migration that rebuilds `tasks` would silently drop the triggers.)

pg_trgm ships with PostgreSQL's contrib and is a trusted extension (PostgreSQL 13
and later), so a database owner who is not a superuser may create it. A role that
may not (no CREATE privilege on the database, or the extension not installed)
still gets every other index: `q` then works the same, by scanning the user's
rows instead. Downgrade leaves the extension in place (other objects may use it).
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
LIVE = sa.text("deleted_at IS NULL")

# (name, columns) for both databases; SQLite is for development and gets these.
PORTABLE = [
    ("ix_tasks_user_updated", ["user_id", "updated_at", "id"]),
    ("ix_tasks_user_priority", ["user_id", "priority", "id"]),
    ("ix_tasks_user_completed_created", ["user_id", "completed", "created_at", "id"]),
]
# PostgreSQL only: orders SQLite cannot declare on an index, GIN indexes.
POSTGRES = {
    "ix_tasks_user_due": "(user_id, due_date ASC NULLS LAST, id ASC)",
    "ix_tasks_user_due_desc": "(user_id, due_date DESC NULLS LAST, id DESC)",
    "ix_tasks_user_title": '(user_id, lower(title) COLLATE "C", id)',
    "ix_tasks_tags": "USING gin (tags jsonb_path_ops)",
}
TRIGRAM = {
    "ix_tasks_title_trgm": "USING gin (title gin_trgm_ops)",
    "ix_tasks_description_trgm": "USING gin (description gin_trgm_ops)",
}


# Statement-level triggers over transition tables: one upsert per user and
# statement, so a bulk insert of N rows costs one counter update, not N updates of
# one row (which PostgreSQL makes quadratic within a transaction).
_UPSERT = """
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM ({changes}) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live;
"""
_ADDED = "SELECT user_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL"
_REMOVED = "SELECT user_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL"
COUNTER = [
    """CREATE TABLE task_counts (
        user_id varchar(255) PRIMARY KEY,
        live integer NOT NULL
    )""",
    """INSERT INTO task_counts (user_id, live)
        SELECT user_id, count(*) FROM tasks WHERE deleted_at IS NULL
        GROUP BY user_id""",
    f"""CREATE FUNCTION task_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN {_UPSERT.format(changes=_ADDED)}
        ELSIF TG_OP = 'DELETE' THEN {_UPSERT.format(changes=_REMOVED)}
        ELSE {_UPSERT.format(changes=f"{_ADDED} UNION ALL {_REMOVED}")}
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION task_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM task_counts;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION task_counts_apply()""",
    """CREATE TRIGGER task_counts_update AFTER UPDATE ON tasks
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION task_counts_apply()""",
    """CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION task_counts_apply()""",
    """CREATE TRIGGER task_counts_truncate AFTER TRUNCATE ON tasks
        FOR EACH STATEMENT EXECUTE FUNCTION task_counts_clear()""",
]
UNCOUNTER = [
    *(
        f"DROP TRIGGER task_counts_{event} ON tasks"
        for event in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION task_counts_apply()",
    "DROP FUNCTION task_counts_clear()",
    "DROP TABLE task_counts",
]


def _create(name: str, definition: str) -> None:
    op.execute(f"CREATE INDEX {name} ON tasks {definition} WHERE deleted_at IS NULL")


def _has_trigrams(conn) -> bool:
    """pg_trgm is there, or this role may create it; else log why not."""
    installed = "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
    if conn.exec_driver_sql(installed).first():
        return True
    try:
        with conn.begin_nested():  # a refusal must not abort the migration
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except sa.exc.DBAPIError as error:
        log.warning(
            "pg_trgm not available (%s); `q` search will work without its "
            "trigram indexes. Run CREATE EXTENSION pg_trgm as a privileged role "
            "and re-create them for fast search on large lists.",
            str(error.orig).strip().splitlines()[0],
        )
        return False


def upgrade() -> None:
    for name, columns in PORTABLE:
        op.create_index(
            name, "tasks", columns, postgresql_where=LIVE, sqlite_where=LIVE
        )
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for name, definition in POSTGRES.items():
        _create(name, definition)
    for statement in COUNTER:
        op.execute(statement)
    if _has_trigrams(conn):
        for name, definition in TRIGRAM.items():
            _create(name, definition)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UNCOUNTER:
            op.execute(statement)
        for name in [*TRIGRAM, *POSTGRES]:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, _ in reversed(PORTABLE):
        op.drop_index(name, table_name="tasks")
