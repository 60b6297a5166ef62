"""identity: the subject vault.

Revision ID: identity_0001
Revises: auth_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "identity_0001"
down_revision = "auth_0001"
branch_labels = None
depends_on = None

# A copy, not an import: a migration must keep meaning what it meant when it was written.
LIVE_OR_SHREDDED = (
    "(shredded_at IS NULL AND blind_index IS NOT NULL AND master_key_version IS NOT NULL"
    " AND wrapped_data_key IS NOT NULL AND nonce IS NOT NULL AND ciphertext IS NOT NULL)"
    " OR (shredded_at IS NOT NULL AND blind_index IS NULL AND master_key_version IS NULL"
    " AND wrapped_data_key IS NULL AND nonce IS NULL AND ciphertext IS NULL)"
)


def upgrade() -> None:
    op.create_table(
        "identity_subject",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("blind_index", sa.String(64), nullable=True),
        sa.Column("master_key_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_data_key", sa.LargeBinary(40), nullable=True),
        sa.Column("nonce", sa.LargeBinary(12), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(LIVE_OR_SHREDDED, name=op.f("ck_identity_subject_live_or_shredded")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_subject")),
        sa.UniqueConstraint("blind_index", name=op.f("uq_identity_subject_blind_index")),
    )


def downgrade() -> None:
    op.drop_table("identity_subject")
