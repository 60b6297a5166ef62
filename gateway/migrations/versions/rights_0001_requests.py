"""Data-subject rights: rectification, restriction and objection requests and their subjects.

Revision ID: rights_0001
Revises: auth_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "rights_0001"
down_revision = "auth_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rights_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("covenant", sa.String(128), nullable=True),
        sa.Column("audit_pseudonym", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sealed", sa.JSON(), nullable=True),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("lift_requested_by", sa.String(64), nullable=True),
        sa.Column("lifted_by", sa.String(64), nullable=True),
        sa.Column("lifted_at", gateway.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_requests")),
    )
    op.create_index(op.f("ix_rights_requests_partner"), "rights_requests", ["partner"])
    op.create_table(
        "rights_subjects",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"],
                                name=op.f("fk_rights_subjects_request_id_rights_requests")),
        sa.PrimaryKeyConstraint("request_id", "subject_id", name=op.f("pk_rights_subjects")),
    )
    op.create_index(op.f("ix_rights_subjects_subject_id"), "rights_subjects", ["subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rights_subjects_subject_id"), table_name="rights_subjects")
    op.drop_table("rights_subjects")
    op.drop_index(op.f("ix_rights_requests_partner"), table_name="rights_requests")
    op.drop_table("rights_requests")
