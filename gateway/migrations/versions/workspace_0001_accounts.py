"""Workspace accounts of people, their server-side sessions and pending OpenID Connect sign-ins.

Revision ID: workspace_0001
Revises: linkage_0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db

revision = "workspace_0001"
down_revision = "linkage_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("totp_secret", sa.LargeBinary(), nullable=True),
        sa.Column("totp_enrolled", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", gateway.db.UTCDateTime(), nullable=True),
        sa.Column("oidc_subject", sa.String(255), nullable=True),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_users")),
        sa.UniqueConstraint("email", name=op.f("uq_workspace_users_email")),
        sa.UniqueConstraint("partner", "oidc_subject",
                            name=op.f("uq_workspace_users_partner")),
    )
    op.create_table(
        "workspace_sessions",
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen", gateway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["workspace_users.id"],
                                name=op.f("fk_workspace_sessions_user_id_workspace_users")),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_workspace_sessions")),
    )
    op.create_index(op.f("ix_workspace_sessions_user_id"), "workspace_sessions", ["user_id"])
    op.create_table(
        "workspace_oidc_flows",
        sa.Column("state_digest", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("created_at", gateway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_workspace_oidc_flows")),
    )


def downgrade() -> None:
    op.drop_table("workspace_oidc_flows")
    op.drop_index(op.f("ix_workspace_sessions_user_id"), table_name="workspace_sessions")
    op.drop_table("workspace_sessions")
    op.drop_table("workspace_users")
