"""Work lists and notifications: step deadlines on cases, per-person plans, inbox messages.

Revision ID: worklists_0001
Revises: exchange_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "worklists_0001"
down_revision = "exchange_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("step_entered_at", gateway.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("step_due_at", gateway.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("overdue_notified_at", gateway.db.UTCDateTime(),
                                   nullable=True))
        batch.create_index(batch.f("ix_cases_step_due_at"), ["step_due_at"])
    with op.batch_alter_table("case_assignments") as batch:
        batch.add_column(sa.Column("subject_ids", sa.JSON(), nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("planned_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("planned_end", sa.Date(), nullable=True))
    with op.batch_alter_table("agenda_items") as batch:
        batch.add_column(sa.Column("outcome_subject_ids", sa.JSON(), nullable=False,
                                   server_default="[]"))
    op.create_table(
        "inbox_messages",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=True),
        sa.Column("meeting_id", sa.String(36), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("acked_at", gateway.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint("id", name=op.f("uq_inbox_messages_id")),
    )
    op.create_index("ix_inbox_messages_recipient_seq", "inbox_messages", ["recipient", "seq"])
    op.create_index(op.f("ix_inbox_messages_case_id"), "inbox_messages", ["case_id"])
    op.create_index(op.f("ix_inbox_messages_meeting_id"), "inbox_messages", ["meeting_id"])


def downgrade() -> None:
    op.drop_table("inbox_messages")
    with op.batch_alter_table("agenda_items") as batch:
        batch.drop_column("outcome_subject_ids")
    with op.batch_alter_table("case_assignments") as batch:
        batch.drop_column("planned_end")
        batch.drop_column("planned_start")
        batch.drop_column("subject_ids")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index(batch.f("ix_cases_step_due_at"))
        batch.drop_column("overdue_notified_at")
        batch.drop_column("step_due_at")
        batch.drop_column("step_entered_at")
