"""Stored deliveries: one per (exchange, allowed recipient), already minimised for that recipient.

The payload holds only the delivered categories and per-recipient pseudonyms; each subject
carries its identity level for this recipient, the vault's opaque (canonical) subject id, and
``sent``: the identifiers exactly as this exchange sent them, sealed under the subject's data key
(see ``IdentityVault.seal_sent``), revealed at read time only for a person delivered
``identified``. ``identity`` is the strongest level of a person in the delivery, a summary.
``seq`` orders the inbox and backs its cursor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time
from gateway.delivery.interfaces import DeliveryPayload


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_recipient_seq", "recipient", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"), index=True)
    sender: Mapped[str] = mapped_column(String(128))
    recipient: Mapped[str] = mapped_column(String(128))
    identity: Mapped[str] = mapped_column(String(16))
    payload: Mapped[DeliveryPayload] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
