"""At most 100,000 live tasks per user, refused by the database; an index on
every task's parent_id, deleted ones included.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

PostgreSQL: migration 0003's statement trigger already keeps each user's count of
live tasks in `task_counts`, by an upsert that waits for any other writer of the
user's row. After an INSERT it now reads back the count it wrote and raises
`check_violation` on constraint `tasks_live_limit` past the limit: exact under
concurrency, no extra round trip, and every write path that inserts tasks
(create, batch, next occurrence, MCP, future ones) is covered. The app answers
409 (taskapi/errors.py refused_by_a_limit).

SQLite (development): a BEFORE INSERT trigger counts the user's live tasks, with
RAISE(ABORT, 'tasks_live_limit'). Like migration 0008's triggers, it is dropped by
a batch migration that rebuilds `tasks`; such a migration must create it again
(create_sqlite_trigger).

`ix_tasks_parent` (parent_id, position, id over rows that have a parent, deleted
ones too): deleting a task checks the foreign key of its subtasks, which the
partial index over live rows cannot serve, so purge-deleted read the whole table
once per purged task (20,000 tasks: 4.2 s, 0.16 s with this index; 100,000: four
minutes). In position order like ix_tasks_parent_position, so a planner that
prefers it for a parent's subtasks still reads them in order, with no sort.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MAX_LIVE_TASKS = 100000  # taskapi/errors.py MAX_LIVE_TASKS, as of this revision

_CHANGES = {
    "added": "SELECT user_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL",
    "removed": "SELECT user_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL",
}


def _upsert(changes: str) -> str:
    return f"""
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM ({changes}) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live"""


def _function(on_insert: str) -> str:
    both = f"{_CHANGES['added']} UNION ALL {_CHANGES['removed']}"
    return f"""
CREATE OR REPLACE FUNCTION task_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    most integer;
BEGIN
    IF TG_OP = 'INSERT' THEN {on_insert}
    ELSIF TG_OP = 'DELETE' THEN {_upsert(_CHANGES["removed"])};
    ELSE {_upsert(both)};
    END IF;
    RETURN NULL;
END $$"""


# The upsert returns each inserting user's count as it now stands: it waited for
# any concurrent writer of that row, so two creates at 99,999 cannot both pass.
LIMITED_INSERT = f"""
        WITH counted AS ({_upsert(_CHANGES["added"])}
            RETURNING live
        )
        SELECT max(live) INTO most FROM counted;
        IF most > {MAX_LIVE_TASKS} THEN
            RAISE EXCEPTION 'At most {MAX_LIVE_TASKS} live tasks per user'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_live_limit';
        END IF;"""
PLAIN_INSERT = f"{_upsert(_CHANGES['added'])};"

SQLITE_TRIGGER = f"""
CREATE TRIGGER tasks_live_limit BEFORE INSERT ON tasks
WHEN NEW.deleted_at IS NULL AND (
    SELECT count(*) FROM tasks WHERE user_id = NEW.user_id AND deleted_at IS NULL
) >= {MAX_LIVE_TASKS}
BEGIN
    SELECT RAISE(ABORT, 'tasks_live_limit');
END"""


def create_sqlite_trigger() -> None:
    op.execute(SQLITE_TRIGGER)


HAS_PARENT = sa.text("parent_id IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(LIMITED_INSERT))
    else:
        create_sqlite_trigger()
    op.create_index(
        "ix_tasks_parent",
        "tasks",
        ["parent_id", "position", "id"],
        postgresql_where=HAS_PARENT,
        sqlite_where=HAS_PARENT,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_parent", table_name="tasks")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(PLAIN_INSERT))
    else:
        op.execute("DROP TRIGGER tasks_live_limit")
