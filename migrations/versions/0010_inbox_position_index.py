"""The inbox in manual order: a partial index on (user_id, position, id) over
live top-level tasks outside any list.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

`ix_tasks_user_list_position` serves a list's order (`list_id = :id`), but not
the inbox's: PostgreSQL does not treat `list_id IS NULL` as fixing the column,
so it cannot read (position, id) in order behind it and sorted every live task
of the user to find the last position, on each create in the inbox.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INBOX = sa.text("deleted_at IS NULL AND list_id IS NULL AND parent_id IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_tasks_inbox_position",
        "tasks",
        ["user_id", "position", "id"],
        postgresql_where=INBOX,
        sqlite_where=INBOX,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_inbox_position", table_name="tasks")
