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
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import session_now, transaction
from gateway.delivery.messages import InboxMessage, message_view
from gateway.delivery.models import Delivery
from gateway.delivery.stored import ContentCipher, IdentitySource, recipient_view
from gateway.ports import AuditAppender, Caller
from gateway.problems import FieldError, not_found, validation_failed

EXCHANGE_DELIVERY = "exchange.delivery"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# The inbox's two streams; each row has its recipient, its seq and acked_at.
_Streamed = TypeVar("_Streamed", Delivery, InboxMessage)


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
        """Deliveries and typed messages, oldest first. Each stream keeps its own position in
        the cursor, so an item is never skipped, whichever stream it arrives in."""
        position = decode_cursor(cursor)
        with transaction(self.session_factory) as session:
            deliveries = _stream(session, Delivery, reader.partner_id, position.delivery, limit,
                                 pending_only=pending_only)
            messages = _stream(session, InboxMessage, reader.partner_id, position.message, limit,
                               pending_only=pending_only)
            merged = _merged(deliveries, messages)
            page = merged[:limit]
            delivered = [item for item in page if isinstance(item, Delivery)]
            told = [item for item in page if isinstance(item, InboxMessage)]
            disclosed: set[str] = set()
            views = [self._view(session, item, disclosed) if isinstance(item, Delivery)
                     else message_view(self.content, item) for item in page]
            if page:
                self.audit.append(session, self._read_event(reader, delivered, told, disclosed))
        next_cursor = None
        if len(merged) > limit:
            next_cursor = encode_cursor(InboxPosition(
                max([position.delivery, *(d.seq for d in delivered)]),
                max([position.message, *(m.seq for m in told)])))
        return InboxPage(views, next_cursor)

    def acknowledge(self, reader: Caller, delivery_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            delivery = session.scalars(
                select(Delivery).where(Delivery.id == delivery_id,
                                       Delivery.recipient == reader.partner_id)
            ).one_or_none()
            message = None if delivery is not None else session.scalars(
                select(InboxMessage).where(InboxMessage.id == delivery_id,
                                           InboxMessage.recipient == reader.partner_id)
            ).one_or_none()
            item = delivery or message
            if item is None:
                # Someone else's delivery is as absent as one that never existed.
                raise not_found("delivery", f"no delivery {delivery_id!r} in your inbox")
            if item.acked_at is None:
                item.acked_at = session_now(session)
                event = {"action": "inbox.acknowledged", "actor": reader.actor()}
                if delivery is not None:
                    event |= {"delivery_id": delivery.id, "exchange_id": delivery.exchange_id}
                else:
                    event |= {"message_id": delivery_id}
                self.audit.append(session, event)
            return {"id": item.id, "acked_at": item.acked_at.isoformat()}

    def _view(
        self, session: Session, delivery: Delivery, disclosed: set[str]
    ) -> dict[str, Any]:
        view, identities = recipient_view(self.vault, self.content, session, delivery,
                                          identified_channel=True)
        disclosed.update(identities)
        acked = delivery.acked_at
        return {"type": EXCHANGE_DELIVERY, **view,
                "acked_at": acked.isoformat() if acked else None}

    def _read_event(
        self, reader: Caller, page: list[Delivery], told: list[InboxMessage],
        disclosed: set[str]
    ) -> dict[str, Any]:
        identified = sorted(disclosed)
        event = {
            "action": "inbox.read",
            "actor": reader.actor(),
            "delivery_ids": [d.id for d in page],
            "exchange_ids": sorted({d.exchange_id for d in page}),
            "identities_disclosed": identified,
        }
        if told:
            event["message_ids"] = [m.id for m in told]
        return event


@dataclass(frozen=True)
class InboxPosition:
    """The last delivery and the last message a page showed."""

    delivery: int
    message: int


def encode_cursor(position: InboxPosition) -> str:
    raw = f"i:{position.delivery}.{position.message}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> InboxPosition:
    """A cursor this inbox issued; ``d:N`` ones of earlier releases count no messages yet."""
    if cursor is None:
        return InboxPosition(0, 0)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, numbers = raw.partition(":")
        delivery, _, message = numbers.partition(".") if prefix == "i" else (numbers, "", "0")
        if prefix not in ("d", "i") or not (delivery.isdigit() and message.isdigit()):
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_failed([FieldError("/cursor", "not a cursor this inbox issued")]) from None
    return InboxPosition(int(delivery), int(message))


def _stream(session: Session, model: type[_Streamed], recipient: str, after: int, limit: int,
            *, pending_only: bool) -> list[_Streamed]:
    """One stream of the recipient's inbox after position ``after``, oldest first: a page and
    one more row, which tells whether another page follows."""
    query = select(model).where(model.recipient == recipient, model.seq > after)
    if pending_only:
        query = query.where(model.acked_at.is_(None))
    return list(session.scalars(query.order_by(model.seq).limit(limit + 1)))


def _merged(deliveries: list[Delivery], messages: list[InboxMessage]
            ) -> list[Delivery | InboxMessage]:
    """Both streams by time, each kept in its own order (so a page takes a prefix of each)."""
    merged: list[Delivery | InboxMessage] = []
    d = m = 0
    while d < len(deliveries) or m < len(messages):
        if m == len(messages) or (d < len(deliveries)
                                  and deliveries[d].created_at <= messages[m].created_at):
            merged.append(deliveries[d])
            d += 1
        else:
            merged.append(messages[m])
            m += 1
    return merged


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise validation_failed([FieldError("/limit", f"an integer from 1 to {MAX_PAGE_SIZE}")])
    return int(raw)
