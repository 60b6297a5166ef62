"""The inbox: each recipient reads only its own deliveries, and every read is audited.

Identities are revealed at read time, only for the persons the decision delivered
``identified``, and only as the sending exchange sent them (the sealed copy stored with the
delivery, never the vault's merged record, which later exchanges and links may complete); the
reveal is part of the audited read, which names exactly the identities disclosed (a shredded
one shows as ``shredded`` and is not). Item contents are opened from their sealed form only
here, for the recipient. Cursors are opaque to partners.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import session_now, transaction
from gateway.delivery.models import Delivery
from gateway.delivery.stored import ContentCipher, IdentitySource, recipient_view
from gateway.ports import AuditAppender, Caller
from gateway.problems import FieldError, not_found, validation_failed

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class InboxPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass
class InboxService:
    session_factory: sessionmaker[Session]
    vault: IdentitySource
    audit: AuditAppender
    content: ContentCipher

    def read(
        self, reader: Caller, cursor: str | None, limit: int, pending_only: bool
    ) -> InboxPage:
        after = decode_cursor(cursor)
        with transaction(self.session_factory) as session:
            query = select(Delivery).where(Delivery.recipient == reader.partner_id,
                                           Delivery.seq > after)
            if pending_only:
                query = query.where(Delivery.acked_at.is_(None))
            rows = list(session.scalars(query.order_by(Delivery.seq).limit(limit + 1)))
            page, more = rows[:limit], len(rows) > limit
            disclosed: set[str] = set()
            views = [self._view(session, d, disclosed) for d in page]
            if page:
                self.audit.append(session, self._read_event(reader, page, disclosed))
        next_cursor = encode_cursor(page[-1].seq) if more else None
        return InboxPage(views, next_cursor)

    def acknowledge(self, reader: Caller, delivery_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            delivery = session.scalars(
                select(Delivery).where(Delivery.id == delivery_id,
                                       Delivery.recipient == reader.partner_id)
            ).one_or_none()
            if delivery is None:
                # Someone else's delivery is as absent as one that never existed.
                raise not_found("delivery", f"no delivery {delivery_id!r} in your inbox")
            if delivery.acked_at is None:
                delivery.acked_at = session_now(session)
                self.audit.append(session, {
                    "action": "inbox.acknowledged",
                    "actor": reader.actor(),
                    "delivery_id": delivery.id,
                    "exchange_id": delivery.exchange_id,
                })
            return {"id": delivery.id, "acked_at": delivery.acked_at.isoformat()}

    def _view(
        self, session: Session, delivery: Delivery, disclosed: set[str]
    ) -> dict[str, Any]:
        view, identities = recipient_view(self.vault, self.content, session, delivery,
                                          identified_channel=True)
        disclosed.update(identities)
        acked = delivery.acked_at
        return {**view, "acked_at": acked.isoformat() if acked else None}

    def _read_event(
        self, reader: Caller, page: list[Delivery], disclosed: set[str]
    ) -> dict[str, Any]:
        identified = sorted(disclosed)
        return {
            "action": "inbox.read",
            "actor": reader.actor(),
            "delivery_ids": [d.id for d in page],
            "exchange_ids": sorted({d.exchange_id for d in page}),
            "identities_disclosed": identified,
        }


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"d:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        seq = int(number)
        if prefix != "d" or seq < 0:
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_failed([FieldError("/cursor", "not a cursor this inbox issued")]) from None
    return seq


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise validation_failed([FieldError("/limit", f"an integer from 1 to {MAX_PAGE_SIZE}")])
    return int(raw)
