"""Calendar feeds: one row per subscription URL, its secret's SHA-256 only
(unique: a poll's one look-up), listed and counted per user; a list feed goes
with its list.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column(
            "list_id",
            sa.Uuid(),
            sa.ForeignKey(
                "lists.id", name="fk_calendar_feeds_list_id", ondelete="CASCADE"
            ),
            nullable=True,
        ),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ux_calendar_feeds_secret_hash",
        "calendar_feeds",
        ["secret_hash"],
        unique=True,
    )
    op.create_index(
        "ix_calendar_feeds_user", "calendar_feeds", ["user_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
