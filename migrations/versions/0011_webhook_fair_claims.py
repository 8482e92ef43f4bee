"""Webhook events indexed by (webhook_id, id) for fair claims, in place of the
(next_attempt_at, id) index of first in, first out.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

The worker claims round robin over webhooks (taskapi/webhook_outbox.py): it
finds the webhooks with pending events by a skip scan and reads each one's
oldest due events in order, which (webhook_id, id) serves. Nothing orders events
by next_attempt_at any more, so that index only cost every recorded event a
second index entry. See docs/decisions/0019-webhook-claim-deliver-record.md.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_webhook_events_webhook", "webhook_events", ["webhook_id", "id"])
    op.drop_index("ix_webhook_events_due", table_name="webhook_events")


def downgrade() -> None:
    op.create_index(
        "ix_webhook_events_due", "webhook_events", ["next_attempt_at", "id"]
    )
    op.drop_index("ix_webhook_events_webhook", table_name="webhook_events")
