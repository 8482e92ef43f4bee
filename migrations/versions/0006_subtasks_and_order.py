"""Subtasks and a manual order: `tasks.parent_id` and `tasks.position`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

`position` is a fractional-indexing key (taskapi/ordering.py), compared as bytes:
COLLATE "C" on PostgreSQL whatever the database's locale (SQLite compares bytes
already). Existing tasks all have no list and no parent, so each user's tasks are
one sibling group: they get keys in their creation order (created_at, id).

Indexes over live tasks: a list (or the inbox) in manual order, a parent's
subtasks in order, and the status filter newest first.
"""

import sqlalchemy as sa
from alembic import op
from fractional_indexing import generate_n_keys_between

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
POSITION = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")
INDEXES = [
    ("ix_tasks_user_list_position", ["user_id", "list_id", "position", "id"]),
    ("ix_tasks_parent_position", ["parent_id", "position", "id"]),
    ("ix_tasks_user_status_created", ["user_id", "status", "created_at", "id"]),
]
BATCH = 1000


def _number_positions(conn) -> None:
    tasks = sa.table(
        "tasks",
        sa.column("id", sa.Uuid()),
        sa.column("user_id", sa.String()),
        sa.column("created_at", sa.DateTime()),
        sa.column("position", sa.String()),
    )
    counts = conn.execute(
        sa.select(tasks.c.user_id, sa.func.count()).group_by(tasks.c.user_id)
    ).all()
    update = (
        sa.update(tasks)
        .where(tasks.c.id == sa.bindparam("task_id"))
        .values(position=sa.bindparam("key"))
    )
    for user_id, count in counts:
        ids = conn.scalars(
            sa.select(tasks.c.id)
            .where(tasks.c.user_id == user_id)
            .order_by(tasks.c.created_at, tasks.c.id)
        ).all()
        keys = generate_n_keys_between(None, None, count)
        rows = [{"task_id": i, "key": k} for i, k in zip(ids, keys, strict=True)]
        for start in range(0, len(rows), BATCH):
            conn.execute(update, rows[start : start + BATCH])


def upgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        tasks.add_column(sa.Column("position", POSITION, nullable=True))
        tasks.create_foreign_key("fk_tasks_parent_id", "tasks", ["parent_id"], ["id"])
    _number_positions(op.get_bind())
    with op.batch_alter_table("tasks") as tasks:
        tasks.alter_column("position", existing_type=POSITION, nullable=False)
    for name, columns in INDEXES:
        op.create_index(
            name, "tasks", columns, postgresql_where=LIVE, sqlite_where=LIVE
        )


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="tasks")
    with op.batch_alter_table("tasks") as tasks:
        tasks.drop_constraint("fk_tasks_parent_id", type_="foreignkey")
        tasks.drop_column("position")
        tasks.drop_column("parent_id")
