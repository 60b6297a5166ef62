"""Exchange records: what was sent, under which covenant, and what the sender was told.

No identifiers are stored here: persons live only in the identity vault, and the request is
kept only as a keyed digest so an idempotent retry can be recognised.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time


class Exchange(Base):
    __tablename__ = "exchanges"
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender: Mapped[str] = mapped_column(String(128), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    covenant: Mapped[str] = mapped_column(String(128))
    covenant_version: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(128))
    process_step: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(36))
    # The form of exploitation the signal is about (NULL: stored before forms were recorded).
    exploitation_form: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_digest: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    audit_event_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
