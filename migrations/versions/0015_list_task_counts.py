"""A member's listing: each list's number of live tasks, kept by the triggers
that keep each user's, so the total of a listing of the lists one is a member of
is a row read per list, as one's own places' is one row; and the listing's sort
keys within a list, (list_id, key, id) over the live tasks of lists, so each
shared list's first page is read in order (taskapi/tasks/triggers.py,
listing.py). Tasks in no list are in none of these indexes: an inbox's writes
cost nothing more.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The counts are PostgreSQL's only, as `task_counts` (SQLite counts instead); so
are the indexes whose order or expression SQLite cannot declare.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

APPLY = """CREATE OR REPLACE FUNCTION public.task_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    most integer;
BEGIN
    IF TG_OP = 'INSERT' THEN 
        WITH counted AS (
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM (SELECT user_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live
            RETURNING live
        )
        SELECT max(live) INTO most FROM counted;
        IF most > 100000 THEN
            RAISE EXCEPTION 'At most 100000 live tasks per user'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_live_limit';
        END IF;
        
    INSERT INTO list_task_counts (list_id, live)
    SELECT list_id, sum(delta) FROM (SELECT list_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL AND list_id IS NOT NULL) AS changes
    GROUP BY list_id HAVING sum(delta) <> 0 ORDER BY list_id
    ON CONFLICT (list_id) DO UPDATE SET live = list_task_counts.live + EXCLUDED.live;
    ELSIF TG_OP = 'DELETE' THEN 
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM (SELECT user_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live;
        
    INSERT INTO list_task_counts (list_id, live)
    SELECT list_id, sum(delta) FROM (SELECT list_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL AND list_id IS NOT NULL) AS changes
    GROUP BY list_id HAVING sum(delta) <> 0 ORDER BY list_id
    ON CONFLICT (list_id) DO UPDATE SET live = list_task_counts.live + EXCLUDED.live;
    ELSE 
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM (SELECT user_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL UNION ALL SELECT user_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live;
        
    INSERT INTO list_task_counts (list_id, live)
    SELECT list_id, sum(delta) FROM (SELECT list_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL AND list_id IS NOT NULL UNION ALL SELECT list_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL AND list_id IS NOT NULL) AS changes
    GROUP BY list_id HAVING sum(delta) <> 0 ORDER BY list_id
    ON CONFLICT (list_id) DO UPDATE SET live = list_task_counts.live + EXCLUDED.live;
    END IF;
    RETURN NULL;
END $$"""
CLEAR = """CREATE OR REPLACE FUNCTION public.task_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM task_counts;
        DELETE FROM list_task_counts;
        RETURN NULL;
    END $$"""
APPLY_0012 = """CREATE OR REPLACE FUNCTION public.task_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    most integer;
BEGIN
    IF TG_OP = 'INSERT' THEN 
        WITH counted AS (
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM (SELECT user_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live
            RETURNING live
        )
        SELECT max(live) INTO most FROM counted;
        IF most > 100000 THEN
            RAISE EXCEPTION 'At most 100000 live tasks per user'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_live_limit';
        END IF;
    ELSIF TG_OP = 'DELETE' THEN 
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM (SELECT user_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live;
    ELSE 
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM (SELECT user_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL UNION ALL SELECT user_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live;
    END IF;
    RETURN NULL;
END $$"""
CLEAR_0003 = """CREATE OR REPLACE FUNCTION public.task_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM task_counts;
        RETURN NULL;
    END $$"""


IN_A_LIST = sa.text("deleted_at IS NULL AND list_id IS NOT NULL")
PORTABLE = {
    "ix_tasks_list_created": "created_at",
    "ix_tasks_list_updated": "updated_at",
    "ix_tasks_list_priority": "priority",
    "ix_tasks_list_position": "position",
}
POSTGRES = {
    "ix_tasks_list_due": "(list_id, due_date ASC NULLS LAST, id ASC)",
    "ix_tasks_list_due_desc": "(list_id, due_date DESC NULLS LAST, id DESC)",
    "ix_tasks_list_title": '(list_id, lower(title) COLLATE "C", id)',
}


def upgrade() -> None:
    for name, column in PORTABLE.items():
        op.create_index(
            name,
            "tasks",
            ["list_id", column, "id"],
            postgresql_where=IN_A_LIST,
            sqlite_where=IN_A_LIST,
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, definition in POSTGRES.items():
        op.execute(
            f"CREATE INDEX {name} ON tasks {definition} "
            "WHERE deleted_at IS NULL AND list_id IS NOT NULL"
        )
    op.create_table(
        "list_task_counts",
        sa.Column(
            "list_id",
            sa.Uuid(),
            sa.ForeignKey(
                "lists.id", name="fk_list_task_counts_list_id", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column("live", sa.Integer(), nullable=False),
    )
    op.execute(
        """INSERT INTO list_task_counts (list_id, live)
        SELECT list_id, count(*) FROM tasks
        WHERE deleted_at IS NULL AND list_id IS NOT NULL GROUP BY list_id"""
    )
    op.execute(APPLY)
    op.execute(CLEAR)


def downgrade() -> None:
    for name in PORTABLE:
        op.drop_index(name, table_name="tasks")
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in POSTGRES:
        op.drop_index(name, table_name="tasks")
    op.execute(APPLY_0012)
    op.execute(CLEAR_0003)
    op.drop_table("list_task_counts")
