"""Exchanges and their per-recipient deliveries.

Revision ID: core_0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "core_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("covenant", sa.String(128), nullable=False),
        sa.Column("covenant_version", sa.String(32), nullable=True),
        sa.Column("purpose", sa.String(128), nullable=False),
        sa.Column("process_step", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.Column("audit_event_id", sa.String(36), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanges")),
        sa.UniqueConstraint("client_id", "idempotency_key", name=op.f("uq_exchanges_client_id")),
    )
    op.create_index(op.f("ix_exchanges_sender"), "exchanges", ["sender"])
    op.create_table(
        "deliveries",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("exchange_id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("identity", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("acked_at", gateway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name=op.f("fk_deliveries_exchange_id_exchanges")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("id", name=op.f("uq_deliveries_id")),
    )
    op.create_index(op.f("ix_deliveries_exchange_id"), "deliveries", ["exchange_id"])
    op.create_index("ix_deliveries_recipient_seq", "deliveries", ["recipient", "seq"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_recipient_seq", table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_exchange_id"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index(op.f("ix_exchanges_sender"), table_name="exchanges")
    op.drop_table("exchanges")
