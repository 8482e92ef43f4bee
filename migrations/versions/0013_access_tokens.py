"""Access tokens for scripts, integrations and agents: one row per token, its
SHA-256 only (unique: a request's one look-up), listed and counted per user.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", JSON_LIST, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN, nullable=True),
    )
    op.create_index(
        "ux_access_tokens_token_hash", "access_tokens", ["token_hash"], unique=True
    )
    op.create_index(
        "ix_access_tokens_user", "access_tokens", ["user_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_table("access_tokens")
