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
from gateway.delivery.stored import ContentCipher, IdentitySource, recipient_view
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
        view, disclosed = recipient_view(self.vault, self.content, session, delivery,
                                         identified_channel=channel == WEBHOOK)
        body = {"type": EXCHANGE_DELIVERY, **view}
        return Rendered(subject=f"Ketenpoort: delivery from {delivery.sender}", body=body,
                        identities_disclosed=disclosed)
