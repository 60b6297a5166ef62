"""Typed messages in the inbox: what the case and meeting rooms tell one participant.

A message is written in the transaction of the action it announces, beside its outbox row (so
the push channels carry it too), and read from ``GET /v1/inbox`` with the deliveries. Its
content is sealed at rest like a delivery's and holds no identifiers: case ids, steps, aliases
and only the recipient's own pseudonyms. ``case_id`` and ``meeting_id`` let retention remove
the messages about a case it removes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.clock import Clock
from gateway.db import Base, UTCDateTime, record_time

#: The kinds of message, each with its own content (see the Inbox schemas in the OpenAPI).
CASE_MANAGER_APPOINTED = "case.manager_appointed"
INTERVENTION_OFFERED = "case.intervention_offered"
INTERVENTION_ACCEPTED = "case.intervention_accepted"
INTERVENTION_DECLINED = "case.intervention_declined"
AGENDA_PUBLISHED = "agenda.published"
AGENDA_CHANGED = "agenda.changed"
DEADLINE_PASSED = "case.deadline_passed"
#: The kinds about one case; their outbox keys begin ``kind:case id:``.
CASE_MESSAGE_KINDS = (CASE_MANAGER_APPOINTED, INTERVENTION_OFFERED, INTERVENTION_ACCEPTED,
                      INTERVENTION_DECLINED, DEADLINE_PASSED)
MESSAGE_KINDS = (CASE_MANAGER_APPOINTED, INTERVENTION_OFFERED, INTERVENTION_ACCEPTED,
                 INTERVENTION_DECLINED, AGENDA_PUBLISHED, AGENDA_CHANGED, DEADLINE_PASSED)


class InboxMessage(Base):
    __tablename__ = "inbox_messages"
    __table_args__ = (Index("ix_inbox_messages_recipient_seq", "recipient", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    recipient: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(36), index=True)
    meeting_id: Mapped[str | None] = mapped_column(String(36), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageOutbox(Protocol):
    """The transactional outbox: the message is pushed to the recipient's other channels."""

    def enqueue(self, session: Session, *, kind: str, recipient: str, payload: dict[str, Any],
                idempotency_key: str) -> str: ...


class ContentSeal(Protocol):
    def seal(self, document: Any, record_id: str) -> dict[str, Any]: ...

    def open(self, sealed: dict[str, Any], record_id: str) -> Any: ...


@dataclass
class Notifier:
    """Writes typed messages in the caller's transaction."""

    outbox: MessageOutbox
    content: ContentSeal
    clock: Clock

    def record(self, session: Session, *, recipient: str, kind: str, content: dict[str, Any],
               case_id: str | None = None, meeting_id: str | None = None) -> str:
        """The message in the recipient's inbox only (its push copy is queued elsewhere)."""
        message_id = str(uuid.uuid4())
        session.add(InboxMessage(id=message_id, recipient=recipient, kind=kind, case_id=case_id,
                                 meeting_id=meeting_id,
                                 content=self.content.seal(content, message_id),
                                 created_at=self.clock.now()))
        return message_id

    def notify(self, session: Session, *, recipient: str, kind: str, content: dict[str, Any],
               idempotency_key: str, case_id: str | None = None) -> str:
        """The message in the inbox and on the recipient's push channels."""
        message_id = self.record(session, recipient=recipient, kind=kind, content=content,
                                 case_id=case_id)
        self.outbox.enqueue(session, kind=kind, recipient=recipient,
                            payload={"type": kind, "message_id": message_id, **content},
                            idempotency_key=idempotency_key)
        return message_id


def message_view(cipher: ContentSeal, message: InboxMessage) -> dict[str, Any]:
    """One message as its recipient reads it in the inbox."""
    return {
        "id": message.id, "type": message.kind,
        **cipher.open(message.content, message.id),
        "created_at": message.created_at.isoformat(),
        "acked_at": message.acked_at.isoformat() if message.acked_at else None,
    }
