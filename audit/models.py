"""The audit log's tables.

* ``audit_entries``: one row per recorded event. ``id`` is write order; ``tree_index`` is the
  leaf position the sequencer assigns (NULL until then). ``entry`` holds the canonical JSON
  exactly as hashed into ``leaf_hash``.
* ``audit_tree_nodes``: every completed perfect subtree above the leaves, written by the
  sequencer, so proofs read ``O(log² n)`` rows instead of every leaf.
* ``audit_checkpoints``: signed tree heads.
* ``audit_signing_keys``: the public keys checkpoints were signed with, for exports.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    entry: Mapped[str] = mapped_column(Text())
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    tree_index: Mapped[int | None] = mapped_column(BigInteger(), unique=True)

    __table_args__ = (
        # The sequencer's queue: only not-yet-integrated rows, so finding work stays cheap
        # however long the log grows.
        Index(
            "ix_audit_entries_pending",
            "id",
            postgresql_where=tree_index.is_(None),
            sqlite_where=tree_index.is_(None),
        ),
    )


class AuditTreeNode(Base):
    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(SmallInteger(), primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(200))
    tree_size: Mapped[int] = mapped_column(BigInteger(), unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class AuditSigningKey(Base):
    __tablename__ = "audit_signing_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime())
