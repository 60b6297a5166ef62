"""identity: the subject keys a person was filed under before a rectification, sealed.

Revision ID: identity_0003
Revises: outbox_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "identity_0003"
down_revision = "outbox_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_subject_alias",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["identity_subject.id"],
            name=op.f("fk_identity_subject_alias_subject_id_identity_subject")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_subject_alias")),
    )
    op.create_index(op.f("ix_identity_subject_alias_subject_id"), "identity_subject_alias",
                    ["subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_subject_alias_subject_id"),
                  table_name="identity_subject_alias")
    op.drop_table("identity_subject_alias")
