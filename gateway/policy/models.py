"""Covenant publications: which covenant version was published, by whom, over which bundle.

The audit log holds the signed record; this table makes the history queryable and lets the
database refuse a second publication of the same covenant version, even by a concurrent run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time


class CovenantPublication(Base):
    __tablename__ = "covenant_publications"
    __table_args__ = (UniqueConstraint("covenant", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    covenant: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(32))
    previous_version: Mapped[str | None] = mapped_column(String(32))
    old_bundle_hash: Mapped[str] = mapped_column(String(64))
    new_bundle_hash: Mapped[str] = mapped_column(String(64))
    file_sha256: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(128))
    audit_event_id: Mapped[str] = mapped_column(String(36))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
