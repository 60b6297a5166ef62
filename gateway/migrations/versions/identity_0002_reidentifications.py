"""identity: re-identification requests.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_reidentification",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=True),
        sa.Column("case_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("bundle_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_reidentification")),
    )
    op.create_index(
        "ix_identity_reidentification_partner_created",
        "identity_reidentification",
        ["partner", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_identity_reidentification_partner_created",
                  table_name="identity_reidentification")
    op.drop_table("identity_reidentification")
