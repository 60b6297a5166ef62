"""The stored delivery: one typed contract for the exchange that writes it and every reader.

The exchange room builds it (``gateway.exchange.services``); the inbox and the push channels
render it (``gateway.delivery.stored``); re-identification, pseudonym translation, cases,
retention and the audit read side look up who was delivered what. Keys marked optional are
absent from deliveries stored by earlier releases.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class DeliveredSubject(TypedDict):
    """One subject (a person, a location, an organisation) as delivered to one recipient."""

    ref: str
    kind: NotRequired[str]  # persoon, locatie or organisatie; absent: persoon
    confidence: NotRequired[str]  # hoog, or laag for a partially described person
    role: str
    pseudonym: str
    subject_id: str
    identity: NotRequired[str]  # the person's level; "pseudonym" before levels per person
    sent: NotRequired[dict[str, str]]  # the identity as this exchange sent it, sealed


class DeliveredItem(TypedDict):
    category: str
    subject_ref: str | None
    content: NotRequired[Any]  # only in deliveries stored before contents were sealed


class DeliveryPayload(TypedDict):
    transaction_id: NotRequired[str | None]  # the sender's FSC transaction
    sender_oin: NotRequired[str | None]  # the sender's OIN when the exchange was made
    covenant: str
    covenant_version: NotRequired[str | None]
    purpose: str
    process_step: str
    case_id: str | None
    exploitation_form: NotRequired[str]
    subjects: list[DeliveredSubject]
    items: list[DeliveredItem]
    sealed_content: NotRequired[dict[str, Any]]  # the items' contents, sealed together
