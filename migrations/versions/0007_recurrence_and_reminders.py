"""Recurring tasks and reminders: `tasks.recurrence`, `series_id`, `next_task_id`,
`reminders`, and the `reminders` table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

`tasks.reminders` holds a task's reminders as the API answers them (each with its
`remind_at`); the `reminders` table holds one row per reminder at its instant,
indexed by (user_id, remind_at) for GET /reminders and by remind_at alone for a
worker that fires them. Existing tasks recur never and remind of nothing.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
JSON_OBJECT = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.add_column(sa.Column("recurrence", JSON_OBJECT, nullable=True))
        tasks.add_column(sa.Column("series_id", sa.Uuid(), nullable=True))
        tasks.add_column(sa.Column("next_task_id", sa.Uuid(), nullable=True))
        tasks.add_column(
            sa.Column(
                "reminders", JSON_LIST, nullable=False, server_default=sa.text("'[]'")
            )
        )
    op.create_index(
        "ix_tasks_user_series",
        "tasks",
        ["user_id", "series_id", "created_at", "id"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_reminders_task_id", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_reminders_user_remind_at", "reminders", ["user_id", "remind_at", "task_id"]
    )
    op.create_index("ix_reminders_remind_at", "reminders", ["remind_at"])
    op.create_index("ix_reminders_task", "reminders", ["task_id"])


def downgrade() -> None:
    op.drop_table("reminders")
    op.drop_index("ix_tasks_user_series", table_name="tasks")
    with op.batch_alter_table("tasks") as tasks:
        tasks.drop_column("reminders")
        tasks.drop_column("next_task_id")
        tasks.drop_column("series_id")
        tasks.drop_column("recurrence")
