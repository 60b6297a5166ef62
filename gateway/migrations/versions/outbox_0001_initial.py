"""The transactional outbox, its per-channel dispatches, and partner delivery channels.

Revision ID: outbox_0001
Revises: meetings_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "outbox_0001"
down_revision = "meetings_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", gateway.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_messages_idempotency_key")),
    )
    op.create_index("ix_outbox_messages_state_created_at", "outbox_messages",
                    ["state", "created_at"])
    op.create_table(
        "outbox_dispatches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(2048), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("lease_until", gateway.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("delivered_at", gateway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["outbox_messages.id"],
            name=op.f("fk_outbox_dispatches_message_id_outbox_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_dispatches")),
        sa.UniqueConstraint("message_id", "channel",
                            name=op.f("uq_outbox_dispatches_message_id")),
    )
    op.create_table(
        "partner_channels",
        sa.Column("partner_id", sa.String(128), nullable=False),
        sa.Column("webhook_url", sa.String(2048), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("updated_at", gateway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_partner_channels")),
    )


def downgrade() -> None:
    op.drop_table("partner_channels")
    op.drop_table("outbox_dispatches")
    op.drop_index("ix_outbox_messages_state_created_at", table_name="outbox_messages")
    op.drop_table("outbox_messages")
