"""Covenant publications.

Revision ID: policy_0001
Revises: linkage_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "policy_0001"
down_revision = "linkage_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "covenant_publications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("covenant", sa.String(128), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("previous_version", sa.String(32), nullable=True),
        sa.Column("old_bundle_hash", sa.String(64), nullable=False),
        sa.Column("new_bundle_hash", sa.String(64), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Column("audit_event_id", sa.String(36), nullable=False),
        sa.Column("published_at", gateway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_covenant_publications")),
        sa.UniqueConstraint(
            "covenant", "version", name=op.f("uq_covenant_publications_covenant")
        ),
    )


def downgrade() -> None:
    op.drop_table("covenant_publications")
