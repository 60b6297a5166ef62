"""Outbox rows, their per-channel dispatches, and each partner's delivery channels.

An :class:`OutboxMessage` is written in the same transaction as the action it announces, so
an action is never recorded without its deliveries, nor delivered without being recorded.
Each message fans out to one :class:`Dispatch` per channel of its recipient; the dispatch id
is the delivery id a receiver sees, stable across retries and redeliveries, so a receiver
can recognise a copy it already processed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_state_created_at", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Dispatch(Base):
    __tablename__ = "outbox_dispatches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbox_messages.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(2048))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("message_id", "channel"),
        # The drainer's scan for due dispatches: only the pending ones, so it stays cheap
        # however many delivered dispatches the table keeps.
        Index("ix_outbox_dispatches_due", "next_attempt_at",
              postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'")),
    )


class PartnerChannel(Base):
    """Where a partner wants its deliveries pushed; the gateway inbox always holds them too."""

    __tablename__ = "partner_channels"

    partner_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time,
                                                 onupdate=record_time)
