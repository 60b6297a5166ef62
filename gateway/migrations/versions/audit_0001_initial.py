"""audit: entries, tree nodes, signed checkpoints and their signing keys.

Revision ID: audit_0001
Revises: core_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "audit_0001"
down_revision = "core_0001"
branch_labels = None
depends_on = None

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The log is append-only in the database too, so no code path (and no careless UPDATE typed
# into a console) can rewrite history: an entry may only receive its tree position, once;
# tree nodes and checkpoints never change. Someone with DDL rights can still drop these
# triggers; signed checkpoints and offline verification are what catch that.
SEALED_TABLES = ("audit_tree_nodes", "audit_checkpoints", "audit_signing_keys")
ENTRY_CHANGED = (
    "OLD.tree_index IS NOT NULL OR NEW.id IS DISTINCT FROM OLD.id"
    " OR NEW.event_id IS DISTINCT FROM OLD.event_id OR NEW.entry IS DISTINCT FROM OLD.entry"
    " OR NEW.leaf_hash IS DISTINCT FROM OLD.leaf_hash"
    " OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at"
)
POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'audit_entries is append-only';
        END IF;
        IF {ENTRY_CHANGED} THEN
            RAISE EXCEPTION 'audit_entries is append-only';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION audit_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END $$
    """,
    """
    CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
    """,
    """
    CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_sealed()
    """,
    *(
        f"""
        CREATE TRIGGER {table}_sealed BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_sealed()
        """
        for table in SEALED_TABLES
    ),
]
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER audit_entries_sealed BEFORE UPDATE ON audit_entries
    WHEN {ENTRY_CHANGED.replace("IS DISTINCT FROM", "IS NOT")}
    BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END
    """,
    """
    CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END
    """,
    *(
        f"""
        CREATE TRIGGER {table}_{operation}_sealed BEFORE {operation} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END
        """
        for table in SEALED_TABLES
        for operation in ("UPDATE", "DELETE")
    ),
]


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("tree_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_entries_event_id")),
        sa.UniqueConstraint("tree_index", name=op.f("uq_audit_entries_tree_index")),
    )
    op.create_index(
        "ix_audit_entries_pending",
        "audit_entries",
        ["id"],
        postgresql_where=sa.text("tree_index IS NULL"),
        sqlite_where=sa.text("tree_index IS NULL"),
    )
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_audit_checkpoints_tree_size")),
    )
    op.create_table(
        "audit_signing_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_audit_signing_keys")),
    )
    triggers = (
        POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers; the PostgreSQL functions outlive them.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only, audit_sealed CASCADE")
    op.drop_table("audit_signing_keys")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_tree_nodes")
    op.drop_index("ix_audit_entries_pending", table_name="audit_entries")
    op.drop_table("audit_entries")
