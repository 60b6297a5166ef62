"""What the outbox needs from the rest of the gateway, and what it reports back.

States: a message or dispatch is ``pending`` until delivered; ``delivered`` when done;
``dead`` when a channel gave up after the retry limit (``ketenpoort outbox retry`` revives it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
STATES = (PENDING, DELIVERED, DEAD)

INBOX = "inbox"
WEBHOOK = "webhook"
EMAIL = "email"

#: The keyring's Ed25519 key that signs webhook deliveries.
WEBHOOK_SIGNING_KEY = "webhook-signing"
#: The keyring's key each partner's Standard Webhooks HMAC secret is derived from.
WEBHOOK_SECRET_KEY = "webhook-secret"  # noqa: S105  # a key's name, not the key


class Publisher(Protocol):
    """Told after commit which outbox rows are new; must never raise into the caller."""

    def publish(self, message_ids: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class Rendered:
    """A message's content for one channel, and the identities it discloses (for the audit)."""

    subject: str
    body: dict[str, Any]
    identities_disclosed: list[str] = field(default_factory=list)
    text: str | None = None  # what a person reads (e-mail); None sends the body as JSON


class Renderer(Protocol):
    """Turns a stored outbox payload into what one channel of the recipient receives."""

    def render(
        self, session: Session, recipient: str, payload: dict[str, Any], channel: str
    ) -> Rendered: ...

