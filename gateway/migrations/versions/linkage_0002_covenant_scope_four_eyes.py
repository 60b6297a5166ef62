"""linkage: the covenants each subject was exchanged under; two reviewers per confirmation.

Revision ID: linkage_0002
Revises: outbox_0001
Create Date: 2026-12-06

Subjects already in the vault get the covenants of the deliveries that name them, so the pairs
they form stay reviewable by the regie of those covenants; a subject no delivery names (yet) has
none, and its pairs are reviewable by nobody until it is exchanged again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "linkage_0002"
down_revision = "outbox_0001"
branch_labels = None
depends_on = None

SUBJECT = "identity_subject.id"
_DELIVERIES = sa.table("deliveries", sa.column("payload", sa.JSON()))
_COVENANTS = sa.table("linkage_covenants", sa.column("subject_id", sa.String(36)),
                      sa.column("covenant", sa.String(128)))
_SUBJECTS = sa.table("identity_subject", sa.column("id", sa.String(36)))


def upgrade() -> None:
    op.create_table(
        "linkage_covenants",
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("covenant", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], [SUBJECT],
                                name=op.f("fk_linkage_covenants_subject_id_identity_subject")),
        sa.PrimaryKeyConstraint("subject_id", "covenant", name=op.f("pk_linkage_covenants")),
    )
    op.create_index(op.f("ix_linkage_covenants_covenant"), "linkage_covenants", ["covenant"])
    op.add_column("linkage_candidates",
                  sa.Column("first_confirmed_by", sa.String(64), nullable=True))
    op.add_column("linkage_candidates",
                  sa.Column("first_confirmed_partner", sa.String(128), nullable=True))
    op.add_column("linkage_candidates",
                  sa.Column("first_confirmed_at", gateway.db.UTCDateTime(), nullable=True))
    _backfill_covenants()


def _backfill_covenants() -> None:
    connection = op.get_bind()
    known = set(connection.execute(sa.select(_SUBJECTS.c.id)).scalars())
    pairs = {
        (subject["subject_id"], payload["covenant"])
        for payload in connection.execute(sa.select(_DELIVERIES.c.payload)).scalars()
        for subject in payload.get("subjects", [])
        if subject.get("subject_id") in known
    }
    if pairs:
        op.bulk_insert(_COVENANTS, [{"subject_id": s, "covenant": c} for s, c in sorted(pairs)])


def downgrade() -> None:
    with op.batch_alter_table("linkage_candidates") as batch:
        batch.drop_column("first_confirmed_at")
        batch.drop_column("first_confirmed_partner")
        batch.drop_column("first_confirmed_by")
    op.drop_index(op.f("ix_linkage_covenants_covenant"), table_name="linkage_covenants")
    op.drop_table("linkage_covenants")
