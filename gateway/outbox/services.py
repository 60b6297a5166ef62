"""Writing to the outbox, reading its state, reviving dead letters, and partner channels.

:meth:`Outbox.enqueue` adds a row in the caller's transaction and never commits; the payload is
stored sealed (see :mod:`gateway.identity.envelope`), opened only to render it for its
recipient's channel. After that
transaction commits, the publisher is told (a Celery task per row, or a wake-up of the
in-process drainer). A failed publish leaves the row pending for the next sweep, so a broker
outage delays deliveries but never loses them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from adapters.webhook import EgressAllowList, webhook_address_problem
from audit.log import identity_keys
from gateway.db import insert_absent, session_now
from gateway.delivery.stored import ContentCipher
from gateway.keys import Keyring
from gateway.outbox.interfaces import (
    DEAD,
    EMAIL,
    INBOX,
    PENDING,
    STATES,
    WEBHOOK,
    WEBHOOK_SECRET_KEY,
    Publisher,
)
from gateway.outbox.models import Dispatch, OutboxMessage, PartnerChannel
from gateway.ports import AuditAppender
from gateway.problems import FieldError, not_found, validation_failed

log = logging.getLogger(__name__)

MAX_KIND_LENGTH = 64
MAX_RECIPIENT_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_URL_LENGTH = 2048
MAX_EMAIL_LENGTH = 320
_ANNOUNCE = "ketenpoort.outbox.announce"


class OutboxError(ValueError):
    """A caller handed the outbox something it must not queue."""


@dataclass
class Outbox:
    publisher: Publisher
    content: ContentCipher

    def enqueue(
        self, session: Session, *, kind: str, recipient: str, payload: dict[str, Any],
        idempotency_key: str,
    ) -> str:
        """Add a delivery in the caller's transaction; a repeated key returns the first id."""
        _check_message(kind, recipient, payload, idempotency_key)
        message_id = str(uuid.uuid4())
        row = {"id": message_id, "kind": kind, "recipient": recipient,
               "payload": self.content.seal(payload, message_id),
               "idempotency_key": idempotency_key, "state": PENDING}
        inserted = insert_absent(session, OutboxMessage, [row], unique=("idempotency_key",),
                                 returning="id")
        if not inserted:
            # Queued before, or by a concurrent transaction that committed first: the first
            # message owns the delivery.
            existing = _id_for_key(session, idempotency_key)
            if existing is None:
                raise OutboxError(f"message {idempotency_key!r} vanished while it was queued")
            return existing
        self._announce_after_commit(session, message_id)
        return message_id

    def _announce_after_commit(self, session: Session, message_id: str) -> None:
        queued: list[str] | None = session.info.get(_ANNOUNCE)
        if queued is None:
            queued = session.info[_ANNOUNCE] = []
            event.listen(session, "after_commit", self._publish_queued)
        queued.append(message_id)

    def _publish_queued(self, session: Session) -> None:
        queued: list[str] = session.info.get(_ANNOUNCE, [])
        ids, queued[:] = list(queued), []
        if ids:
            self.publisher.publish(ids)

    def list(self, session: Session, state: str | None, limit: int = 100) -> list[dict[str, Any]]:
        if state is not None and state not in STATES:
            raise validation_failed([FieldError("/state", f"one of {', '.join(STATES)}")])
        query = select(OutboxMessage).order_by(OutboxMessage.created_at).limit(limit)
        if state is not None:
            query = query.where(OutboxMessage.state == state)
        return [_view(session, m) for m in session.scalars(query)]

    def show(self, session: Session, message_id: str) -> dict[str, Any]:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise not_found("outbox-message", f"no outbox message {message_id!r}")
        return _view(session, message)

    def retry(self, session: Session, message_id: str, audit: AuditAppender) -> dict[str, Any]:
        """Give a dead message's dead channels a fresh set of attempts."""
        message = session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            raise not_found("outbox-message", f"no outbox message {message_id!r}")
        dead = list(session.scalars(
            select(Dispatch).where(Dispatch.message_id == message_id, Dispatch.state == DEAD)
        ))
        for dispatch in dead:
            dispatch.state, dispatch.attempts = PENDING, 0
            dispatch.next_attempt_at, dispatch.lease_until = session_now(session), None
        if dead:
            message.state, message.finished_at = PENDING, None
            audit.append(session, {
                "action": "outbox.retried", "actor": {"operator": "cli"},
                "message_id": message.id, "recipient": message.recipient,
                "channels": sorted(d.channel for d in dead),
            })
            self._announce_after_commit(session, message.id)
        return _view(session, message)


def _id_for_key(session: Session, idempotency_key: str) -> str | None:
    return session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.idempotency_key == idempotency_key)
    ).one_or_none()


def _check_message(
    kind: str, recipient: str, payload: dict[str, Any], idempotency_key: str
) -> None:
    for name, value, limit in (("kind", kind, MAX_KIND_LENGTH),
                               ("recipient", recipient, MAX_RECIPIENT_LENGTH),
                               ("idempotency_key", idempotency_key, MAX_IDEMPOTENCY_KEY_LENGTH)):
        if not (isinstance(value, str) and 0 < len(value) <= limit):
            raise OutboxError(f"{name} must be 1 to {limit} characters")
    if not isinstance(payload, dict):
        raise OutboxError("payload must be a JSON object")
    plaintext = sorted(identity_keys(payload))
    if plaintext:
        # The outbox is a queue; identities stay in the vault and are revealed at send time.
        raise OutboxError(f"plaintext identity may not be queued: {', '.join(plaintext)}")


def _view(session: Session, message: OutboxMessage) -> dict[str, Any]:
    dispatches = session.scalars(
        select(Dispatch).where(Dispatch.message_id == message.id).order_by(Dispatch.channel)
    )
    return {
        "id": message.id, "kind": message.kind, "recipient": message.recipient,
        "state": message.state, "created_at": message.created_at.isoformat(),
        "finished_at": message.finished_at.isoformat() if message.finished_at else None,
        "channels": [
            {"channel": d.channel, "delivery_id": d.id, "state": d.state,
             "attempts": d.attempts, "last_error": d.last_error,
             "next_attempt_at": d.next_attempt_at.isoformat()}
            for d in dispatches
        ],
    }


class ChannelDirectory:
    """Each partner's channels: always the gateway inbox, plus a webhook and/or e-mail."""

    def channels_for(self, session: Session, partner_id: str) -> list[tuple[str, str | None]]:
        configured = session.get(PartnerChannel, partner_id)
        channels: list[tuple[str, str | None]] = [(INBOX, None)]
        if configured is not None and configured.webhook_url:
            channels.append((WEBHOOK, configured.webhook_url))
        if configured is not None and configured.email:
            channels.append((EMAIL, configured.email))
        return channels

    def set(
        self, session: Session, partner_id: str, *, webhook_url: str | None, email: str | None,
        known_partners: frozenset[str], audit: AuditAppender,
        egress: EgressAllowList | None = None,
    ) -> dict[str, Any]:
        """Set the given channels; an empty string removes one, None leaves it as it is.

        ``egress`` is the webhook egress allow-list (see :func:`webhook_address_problem`).
        """
        _check_channels(partner_id, webhook_url, email, known_partners, egress or {})
        row = session.get(PartnerChannel, partner_id) or PartnerChannel(partner_id=partner_id)
        if webhook_url is not None:
            row.webhook_url = webhook_url or None
        if email is not None:
            row.email = email or None
        session.add(row)
        session.flush()
        audit.append(session, {
            "action": "channel.configured", "actor": {"operator": "cli"},
            "partner": partner_id, "webhook": row.webhook_url is not None,
            "email": row.email is not None,
        })
        return self.show(session, partner_id)

    def show(self, session: Session, partner_id: str) -> dict[str, Any]:
        return {"partner": partner_id,
                "channels": [{"channel": c, "address": a}
                             for c, a in self.channels_for(session, partner_id)]}


def _check_channels(
    partner_id: str, webhook_url: str | None, email: str | None, known: frozenset[str],
    egress: EgressAllowList,
) -> None:
    errors = []
    if partner_id not in known:
        errors.append(FieldError("/partner", f"unknown partner {partner_id!r}"))
    if webhook_url and not (
        len(webhook_url) <= MAX_URL_LENGTH and webhook_url.isprintable() and " " not in webhook_url
    ):
        errors.append(FieldError("/webhook", f"an https URL of at most {MAX_URL_LENGTH} chars"))
    elif webhook_url:
        problem = webhook_address_problem(webhook_url, partner_id, egress)
        if problem is not None:
            errors.append(FieldError("/webhook", problem))
    if email and not (
        0 < email.find("@") < len(email) - 1 and len(email) <= MAX_EMAIL_LENGTH
        and email.isprintable() and not any(c in email for c in " <>,;\r\n")
    ):
        errors.append(FieldError("/email", "a single e-mail address"))
    if errors:
        raise validation_failed(errors)


class NoPublisher:
    """Nobody to tell: rows wait for a sweep (tests and one-off CLI processes)."""

    def publish(self, message_ids: Sequence[str]) -> None:
        log.debug("outbox rows %s wait for the next sweep", list(message_ids))


@dataclass(frozen=True)
class WebhookSecrets:
    """Each partner's own Standard Webhooks secret (the ``v1`` HMAC key).

    Derived from the keyring's ``webhook-secret`` key and the partner id, so nothing per
    partner is stored, and a secret one partner holds verifies nothing sent to another.
    """

    keyring: Keyring

    def __call__(self, partner_id: str) -> bytes:
        return hmac.digest(self.keyring.secret(WEBHOOK_SECRET_KEY),
                           b"standard-webhooks v1\x00" + partner_id.encode(), hashlib.sha256)

    def shown(self, partner_id: str) -> str:
        """The secret as Standard Webhooks libraries take it: ``whsec_<base64>``."""
        return "whsec_" + base64.b64encode(self(partner_id)).decode()
