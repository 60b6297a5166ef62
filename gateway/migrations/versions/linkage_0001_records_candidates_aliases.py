"""linkage: Bloom-filter records, blocking keys, candidate pairs and aliases.

Revision ID: linkage_0001
Revises: identity_0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "linkage_0001"
down_revision = "identity_0002"
branch_labels = None
depends_on = None

SUBJECT = "identity_subject.id"


def upgrade() -> None:
    op.create_table(
        "linkage_records",
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("bloom", sa.LargeBinary(128), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], [SUBJECT],
                                name=op.f("fk_linkage_records_subject_id_identity_subject")),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_linkage_records")),
    )
    op.create_table(
        "linkage_blocks",
        sa.Column("block_key", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], [SUBJECT],
                                name=op.f("fk_linkage_blocks_subject_id_identity_subject")),
        sa.PrimaryKeyConstraint("block_key", "subject_id", name=op.f("pk_linkage_blocks")),
    )
    op.create_index(op.f("ix_linkage_blocks_subject_id"), "linkage_blocks", ["subject_id"])
    op.create_table(
        "linkage_candidates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_a", sa.String(36), nullable=False),
        sa.Column("subject_b", sa.String(36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("decided_at", gateway.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.CheckConstraint("subject_a < subject_b",
                           name=op.f("ck_linkage_candidates_ordered_pair")),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected')",
                           name=op.f("ck_linkage_candidates_known_status")),
        sa.ForeignKeyConstraint(["subject_a"], [SUBJECT],
                                name=op.f("fk_linkage_candidates_subject_a_identity_subject")),
        sa.ForeignKeyConstraint(["subject_b"], [SUBJECT],
                                name=op.f("fk_linkage_candidates_subject_b_identity_subject")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_candidates")),
        sa.UniqueConstraint("subject_a", "subject_b",
                            name=op.f("uq_linkage_candidates_subject_a")),
    )
    op.create_index(op.f("ix_linkage_candidates_subject_b"), "linkage_candidates", ["subject_b"])
    op.create_index("ix_linkage_candidates_status_score", "linkage_candidates",
                    ["status", "score"])
    op.create_table(
        "linkage_aliases",
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("canonical_subject_id", sa.String(36), nullable=False),
        sa.Column("candidate_id", sa.String(36), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], [SUBJECT],
                                name=op.f("fk_linkage_aliases_subject_id_identity_subject")),
        sa.ForeignKeyConstraint(
            ["canonical_subject_id"], [SUBJECT],
            name=op.f("fk_linkage_aliases_canonical_subject_id_identity_subject")),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["linkage_candidates.id"],
            name=op.f("fk_linkage_aliases_candidate_id_linkage_candidates")),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_linkage_aliases")),
    )
    op.create_index(op.f("ix_linkage_aliases_canonical_subject_id"), "linkage_aliases",
                    ["canonical_subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_linkage_aliases_canonical_subject_id"), table_name="linkage_aliases")
    op.drop_table("linkage_aliases")
    op.drop_index("ix_linkage_candidates_status_score", table_name="linkage_candidates")
    op.drop_index(op.f("ix_linkage_candidates_subject_b"), table_name="linkage_candidates")
    op.drop_table("linkage_candidates")
    op.drop_index(op.f("ix_linkage_blocks_subject_id"), table_name="linkage_blocks")
    op.drop_table("linkage_blocks")
    op.drop_table("linkage_records")
