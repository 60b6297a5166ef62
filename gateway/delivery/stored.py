"""How a delivery is kept at rest and turned back into what its recipient may see.

Item contents (art. 9/10 data among them) are sealed with the delivery id as associated data;
the categories and subject references stay readable, because the policy checks of a
re-identification need them and they say nothing a pseudonymised delivery does not. Deliveries
stored before sealing existed hold their contents in plain form and are served as they are.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from gateway.delivery.interfaces import DeliveredSubject, DeliveryPayload
from gateway.delivery.models import Delivery
from gateway.ports import SubjectShreddedError

# What a recipient sees in place of the identity of a person whose identity was shredded.
SHREDDED = "shredded"


class ContentCipher(Protocol):
    def seal(self, document: Any, record_id: str) -> dict[str, Any]: ...

    def open(self, sealed: dict[str, Any], record_id: str) -> Any: ...


class IdentitySource(Protocol):
    def reveal_sent(self, session: Session, exchange_id: str, sent: dict[str, str]) -> Any: ...

    def audit_pseudonym(self, subject_id: str) -> str: ...


def open_items(cipher: ContentCipher, delivery_id: str,
               payload: DeliveryPayload) -> list[dict[str, Any]]:
    """The delivery's items with their contents, for serving to its recipient."""
    items = [dict(item) for item in payload["items"]]
    if "sealed_content" not in payload:
        return items
    contents = cipher.open(payload["sealed_content"], delivery_id)
    return [{**item, "content": content} for item, content in zip(items, contents, strict=True)]


def subject_level(subject: DeliveredSubject) -> str:
    """The person's identity level in the delivery, ``pseudonym`` where none was stored."""
    return subject.get("identity", "pseudonym")


def is_identified(subject: DeliveredSubject) -> bool:
    # Deliveries stored before identities were sealed per exchange hold no copy to show.
    return subject_level(subject) == "identified" and "sent" in subject


def subject_view(
    vault: IdentitySource, session: Session, exchange_id: str, subject: DeliveredSubject, *,
    identified_channel: bool,
) -> tuple[dict[str, Any], str | None]:
    """A delivered person as its recipient sees them, and the audit pseudonym of an identity
    disclosed: identifiers only for a person delivered identified, on a channel that may carry
    them, exactly as the exchange sent them (never the vault's merged record).

    A shredded identity (erased by retention or the operator) shows as
    ``"identity": "shredded"``: nothing is disclosed, and the rest of the delivery is served.
    """
    view: dict[str, Any] = {"ref": subject["ref"], "kind": subject.get("kind", "persoon"),
                            "confidence": subject.get("confidence", "hoog"),
                            "role": subject["role"], "pseudonym": subject["pseudonym"],
                            "identity": subject_level(subject)}
    if not (identified_channel and is_identified(subject)):
        return view, None
    try:
        view["identifiers"] = dict(vault.reveal_sent(session, exchange_id, subject["sent"]))
    except SubjectShreddedError:
        view["identity"] = SHREDDED
        return view, None
    return view, vault.audit_pseudonym(subject["subject_id"])


def recipient_view(
    vault: IdentitySource, content: ContentCipher, session: Session, delivery: Delivery, *,
    identified_channel: bool,
) -> tuple[dict[str, Any], list[str]]:
    """The one rendering of a stored delivery for its recipient, in the inbox and on every push
    channel alike, and the audit pseudonyms of the identities it discloses."""
    stored = delivery.payload
    subjects = [subject_view(vault, session, delivery.exchange_id, subject,
                             identified_channel=identified_channel)
                for subject in stored["subjects"]]
    view = {
        "id": delivery.id, "exchange_id": delivery.exchange_id, "sender": delivery.sender,
        "sender_oin": stored.get("sender_oin"), "transaction_id": stored.get("transaction_id"),
        "covenant": stored["covenant"], "covenant_version": stored.get("covenant_version"),
        "purpose": stored["purpose"], "process_step": stored["process_step"],
        "case_id": stored["case_id"],
        "exploitation_form": stored.get("exploitation_form", "onbekend"),
        "identity": delivery.identity,
        "subjects": [subject for subject, _ in subjects],
        "items": open_items(content, delivery.id, stored),
        "created_at": delivery.created_at.isoformat(),
    }
    return view, [pseudonym for _, pseudonym in subjects if pseudonym is not None]
