"""What each kind of outbox message looks like on a push channel.

``exchange.delivery`` rows hold only a delivery id; the view is rendered at send time from the
stored delivery, like the inbox renders it: pseudonyms always, identifiers only on the signed
webhook, only for the persons the decision delivered ``identified`` and only as the exchange
sent them (an e-mail never carries them), a shredded identity as ``shredded``. Other kinds
carry their recipient's finished view in the payload and are sent as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.delivery.models import Delivery
from gateway.delivery.stored import ContentCipher, IdentitySource, open_items, subject_view
from gateway.outbox.interfaces import WEBHOOK, Rendered

EXCHANGE_DELIVERY = "exchange.delivery"


class PayloadAsIs:
    def render(
        self, session: Session, recipient: str, payload: dict[str, Any], channel: str
    ) -> Rendered:
        return Rendered(subject=f"Ketenpoort: {payload.get('title', 'new message')}",
                        body=payload)


@dataclass
class ExchangeDeliveryRenderer:
    vault: IdentitySource
    content: ContentCipher

    def render(
        self, session: Session, recipient: str, payload: dict[str, Any], channel: str
    ) -> Rendered:
        delivery = session.scalars(
            select(Delivery).where(Delivery.id == payload["delivery_id"],
                                   Delivery.recipient == recipient)
        ).one()
        identified_channel = channel == WEBHOOK
        stored = delivery.payload
        views = [subject_view(self.vault, session, delivery.exchange_id, s,
                              identified_channel=identified_channel)
                 for s in stored["subjects"]]
        subjects = [view for view, _ in views]
        disclosed = [pseudonym for _, pseudonym in views if pseudonym is not None]
        body = {
            "type": EXCHANGE_DELIVERY, "id": delivery.id, "exchange_id": delivery.exchange_id,
            "sender": delivery.sender, "covenant": stored["covenant"],
            "covenant_version": stored.get("covenant_version"), "purpose": stored["purpose"],
            "process_step": stored["process_step"], "case_id": stored["case_id"],
            "identity": delivery.identity, "subjects": subjects,
            "items": open_items(self.content, delivery.id, stored),
            "created_at": delivery.created_at.isoformat(),
        }
        return Rendered(subject=f"Ketenpoort: delivery from {delivery.sender}", body=body,
                        identities_disclosed=disclosed)
