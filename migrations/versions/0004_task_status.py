"""Task status: pending, in_progress or completed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

`completed` stays: the one-statement toggle and the listing's indexes use it. A
CHECK keeps it equal to `status = 'completed'`, so the two can never disagree.
Existing tasks become `completed` or `pending` from `completed`. (On SQLite the
batch operations rebuild the table, indexes and CHECKs included.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.add_column(
            sa.Column("status", sa.String(20), server_default="pending", nullable=False)
        )
    op.execute("UPDATE tasks SET status = 'completed' WHERE completed")
    with op.batch_alter_table("tasks") as tasks:
        tasks.create_check_constraint(
            "ck_tasks_status", "status IN ('pending', 'in_progress', 'completed')"
        )
        tasks.create_check_constraint(
            "ck_tasks_completed_status", "completed = (status = 'completed')"
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.drop_constraint("ck_tasks_completed_status", type_="check")
        tasks.drop_constraint("ck_tasks_status", type_="check")
        tasks.drop_column("status")
