"""Cases: signals, subjects (vault ids and aliases), interventions and their progress.

Revision ID: cases_0001
Revises: policy_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "cases_0001"
down_revision = "policy_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("covenant", sa.String(128), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("regie", sa.String(128), nullable=False),
        sa.Column("case_manager", sa.String(128), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("closed_at", gateway.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_table(
        "case_signals",
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("exchange_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_signals_case_id_cases")),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchanges.id"],
                                name=op.f("fk_case_signals_exchange_id_exchanges")),
        sa.PrimaryKeyConstraint("case_id", "exchange_id", name=op.f("pk_case_signals")),
    )
    op.create_index(op.f("ix_case_signals_exchange_id"), "case_signals", ["exchange_id"])
    op.create_table(
        "case_subjects",
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_subjects_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", "subject_id", name=op.f("pk_case_subjects")),
        sa.UniqueConstraint("case_id", "alias", name=op.f("uq_case_subjects_case_id")),
    )
    op.create_table(
        "case_assignments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("intervention", sa.String(500), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("offered_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("decided_at", gateway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_assignments_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignments")),
    )
    op.create_index(op.f("ix_case_assignments_case_id"), "case_assignments", ["case_id"])
    op.create_table(
        "case_progress",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("assignment_id", sa.String(36), nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
        sa.Column("reported_at", gateway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["case_assignments.id"],
                                name=op.f("fk_case_progress_assignment_id_case_assignments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_progress")),
    )
    op.create_index(op.f("ix_case_progress_assignment_id"), "case_progress", ["assignment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_case_progress_assignment_id"), table_name="case_progress")
    op.drop_table("case_progress")
    op.drop_index(op.f("ix_case_assignments_case_id"), table_name="case_assignments")
    op.drop_table("case_assignments")
    op.drop_table("case_subjects")
    op.drop_index(op.f("ix_case_signals_exchange_id"), table_name="case_signals")
    op.drop_table("case_signals")
    op.drop_table("cases")
