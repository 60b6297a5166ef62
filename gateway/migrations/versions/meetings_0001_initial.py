"""Case meetings: participants, agenda items and each participant's published view.

Revision ID: meetings_0001
Revises: cases_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "meetings_0001"
down_revision = "cases_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("covenant", sa.String(128), nullable=False),
        sa.Column("regie", sa.String(128), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_table(
        "meeting_participants",
        sa.Column("meeting_id", sa.String(36), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_meeting_participants_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("meeting_id", "partner", name=op.f("pk_meeting_participants")),
    )
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("meeting_id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("question", sa.String(2000), nullable=False),
        sa.Column("proposed_decision", sa.String(2000), nullable=False),
        sa.Column("outcome_approach", sa.String(500), nullable=True),
        sa.Column("outcome_partner", sa.String(128), nullable=True),
        sa.Column("outcome_recorded_at", gateway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_agenda_items_case_id_cases")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_agenda_items_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
        sa.UniqueConstraint("meeting_id", "position", name=op.f("uq_agenda_items_meeting_id")),
    )
    op.create_index(op.f("ix_agenda_items_case_id"), "agenda_items", ["case_id"])
    op.create_index(op.f("ix_agenda_items_meeting_id"), "agenda_items", ["meeting_id"])
    op.create_table(
        "agenda_published_views",
        sa.Column("meeting_id", sa.String(36), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.Column("published_at", gateway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_agenda_published_views_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("meeting_id", "partner",
                                name=op.f("pk_agenda_published_views")),
    )


def downgrade() -> None:
    op.drop_table("agenda_published_views")
    op.drop_index(op.f("ix_agenda_items_meeting_id"), table_name="agenda_items")
    op.drop_index(op.f("ix_agenda_items_case_id"), table_name="agenda_items")
    op.drop_table("agenda_items")
    op.drop_table("meeting_participants")
    op.drop_table("meetings")
