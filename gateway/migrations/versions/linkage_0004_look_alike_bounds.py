"""linkage: candidates proposed while a person had more look-alikes than were compared.

Revision ID: linkage_0004
Revises: linkage_0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "linkage_0004"
down_revision = "linkage_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("linkage_candidates", sa.Column(
        "too_many_look_alikes", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("linkage_candidates") as batch:
        batch.drop_column("too_many_look_alikes")
