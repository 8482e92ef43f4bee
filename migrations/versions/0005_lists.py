"""Lists: a user's named lists of tasks, and `tasks.list_id`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Lists are soft-deleted like tasks (the change feed will need the tombstones).
A name is unique per user among live lists ignoring letter case: `name_key` holds
it case-folded by the app, so the unique index means the same on both databases
whatever their locale. Existing tasks have no list (the inbox).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_lists_user_name",
        "lists",
        ["user_id", "name_key"],
        unique=True,
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index(
        "ix_lists_user_created",
        "lists",
        ["user_id", "created_at", "id"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    with op.batch_alter_table("tasks") as tasks:
        tasks.add_column(sa.Column("list_id", sa.Uuid(), nullable=True))
        tasks.create_foreign_key("fk_tasks_list_id", "lists", ["list_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.drop_constraint("fk_tasks_list_id", type_="foreignkey")
        tasks.drop_column("list_id")
    op.drop_index("ix_lists_user_created", table_name="lists")
    op.drop_index("ix_lists_user_name", table_name="lists")
    op.drop_table("lists")
