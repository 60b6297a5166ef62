"""Rate-limit hits shared by every gateway process (token endpoint, workspace sign-in).

Revision ID: auth_0002
Revises: workspace_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "auth_0002"
down_revision = "workspace_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_hit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("at", gateway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hit")),
    )
    op.create_index("ix_rate_limit_hit_key", "rate_limit_hit", ["scope", "key_digest", "at"])
    op.create_index("ix_rate_limit_hit_age", "rate_limit_hit", ["scope", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hit_age", table_name="rate_limit_hit")
    op.drop_index("ix_rate_limit_hit_key", table_name="rate_limit_hit")
    op.drop_table("rate_limit_hit")
