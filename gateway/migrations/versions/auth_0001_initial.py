"""auth: OAuth clients and spent client-assertion ids.

Revision ID: auth_0001
Revises: audit_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "auth_0001"
down_revision = "audit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=True),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(32), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "token_endpoint_auth_method IN ('client_secret_basic', 'private_key_jwt')",
            name=op.f("ck_oauth_client_auth_method"),
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_client")),
    )
    op.create_index(op.f("ix_oauth_client_partner_id"), "oauth_client", ["partner_id"])
    op.create_table(
        "oauth_used_assertion",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.client_id"],
            name=op.f("fk_oauth_used_assertion_client_id_oauth_client"),
        ),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_oauth_used_assertion")),
    )
    op.create_index(
        op.f("ix_oauth_used_assertion_expires_at"), "oauth_used_assertion", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_oauth_used_assertion_expires_at"), table_name="oauth_used_assertion")
    op.drop_table("oauth_used_assertion")
    op.drop_index(op.f("ix_oauth_client_partner_id"), table_name="oauth_client")
    op.drop_table("oauth_client")
