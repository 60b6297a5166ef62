"""Draining the outbox: the same code in a Celery worker and in the gateway's own thread.

For each message the dispatcher fixes the recipient's channels once (one dispatch row per
channel), then for every due dispatch: takes a lease (so two drainers never send the same copy
at once), renders and audits the identities the attempt will disclose in that same transaction,
sends outside any transaction, and records the outcome with its audit entry.
A worker killed mid-send leaves the lease to expire and the broker to redeliver the task; the
resend carries the same delivery id, so the receiver drops the copy it already has.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.interfaces import ChannelError, OutboundChannel, OutboundMessage
from gateway.db import read_only, transaction
from gateway.delivery.stored import ContentCipher
from gateway.identity.envelope import is_sealed
from gateway.logs import current_trace, traced
from gateway.outbox.interfaces import (
    DEAD,
    DELIVERED,
    INBOX,
    PENDING,
    Rendered,
    Renderer,
)
from gateway.outbox.models import Dispatch, OutboxMessage
from gateway.outbox.services import ChannelDirectory
from gateway.ports import AuditAppender

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500


class _NotLeased:
    """Another drainer holds the dispatch's lease: this drainer leaves it alone."""


_NOT_LEASED = _NotLeased()
_Prepared = tuple[OutboundChannel, OutboundMessage, Rendered, str | None]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    lease_seconds: float

    def delay_after(self, attempts: int) -> timedelta:
        seconds = min(self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds)
        return timedelta(seconds=seconds)


@dataclass
class Dispatcher:
    session_factory: sessionmaker[Session]
    directory: ChannelDirectory
    channels: Mapping[str, OutboundChannel]
    renderers: Mapping[str, Renderer]
    default_renderer: Renderer
    audit: AuditAppender
    policy: RetryPolicy
    content: ContentCipher
    clock: Callable[[], datetime]

    def dispatch(self, message_id: str) -> datetime | None:
        """Deliver what is due now; return when to look again, or None when nothing is left."""
        if not self._open_dispatches(message_id):
            return None
        # The request's trace when a Celery task carried it here, else a trace of its own.
        with traced(current_trace()):
            for dispatch_id in self._claim_due(message_id):
                self._attempt(dispatch_id)
        return self._settle(message_id)

    def due_messages(self, limit: int = 500) -> list[str]:
        """Pending messages with a dispatch due now, or with none pending: not yet fanned
        out to channels, or finished but not settled (a drainer died in between)."""
        # A read: on SQLite it must not queue behind the exchanges for the write lock.
        with read_only(self.session_factory) as session:
            return list(session.scalars(due_messages_query(self.clock(), limit)))

    def _open_dispatches(self, message_id: str) -> bool:
        """Fan the message out to its recipient's channels; False when nothing is left to do."""
        try:
            with transaction(self.session_factory) as session:
                message = session.get(OutboxMessage, message_id)
                if message is None or message.state != PENDING:
                    return False
                present = set(session.scalars(
                    select(Dispatch.channel).where(Dispatch.message_id == message_id)))
                opened = [self._opened(message_id, channel, address)
                          for channel, address in self.directory.channels_for(
                              session, message.recipient)
                          if channel not in present]
                session.add_all(opened)
                if not present and all(d.state == DELIVERED for d in opened):
                    # The inbox alone, which holds the delivery since the message committed:
                    # settled here in one transaction instead of a lease, an attempt and a
                    # settlement of four more.
                    message.state, message.finished_at = DELIVERED, self.clock()
                    return False
        except IntegrityError:
            log.debug("another drainer opened the dispatches of %s first", message_id)
        return True

    def _opened(self, message_id: str, channel: str, address: str | None) -> Dispatch:
        now = self.clock()
        if channel == INBOX:
            # Nothing to send: recipients fetch from the inbox, which committed with the message.
            return Dispatch(id=str(uuid.uuid4()), message_id=message_id, channel=channel,
                            state=DELIVERED, attempts=1, next_attempt_at=now, delivered_at=now)
        return Dispatch(id=str(uuid.uuid4()), message_id=message_id, channel=channel,
                        address=address, state=PENDING, attempts=0, next_attempt_at=now)

    def _claim_due(self, message_id: str) -> list[str]:
        """The message's dispatches due now; each is leased when its attempt begins."""
        now = self.clock()
        with read_only(self.session_factory) as session:
            return list(session.scalars(select(Dispatch.id).where(
                Dispatch.message_id == message_id, Dispatch.state == PENDING,
                Dispatch.next_attempt_at <= now,
                or_(Dispatch.lease_until.is_(None), Dispatch.lease_until < now),
            )))

    def _attempt(self, dispatch_id: str) -> None:
        try:
            prepared = self._lease_and_prepare(dispatch_id)
        except ChannelError as exc:
            # Nothing left the gateway, and the lease's transaction counted no attempt.
            self._record_failure(dispatch_id, str(exc), None, counted=False)
            return
        if isinstance(prepared, _NotLeased):
            return
        if prepared is None:
            self._record_success(dispatch_id, None)
            return
        adapter, outbound, rendered, disclosure = prepared
        try:
            adapter.send(outbound)
        except ChannelError as exc:
            self._record_failure(dispatch_id, str(exc), disclosure)
            return
        self._record_success(dispatch_id, rendered)

    def _lease_and_prepare(self, dispatch_id: str) -> _Prepared | _NotLeased | None:
        """Lease the dispatch, render it and audit what it discloses, in one transaction.

        The disclosure entry is written before anything is sent, in the transaction that takes
        the lease: a receiver that answers 500 has still read the body, so every attempt that
        carries identities is on the log whatever its outcome. None for the gateway inbox,
        which serves deliveries on request; ``_NOT_LEASED`` when another drainer holds it.
        """
        now = self.clock()
        with transaction(self.session_factory) as session:
            # A conditional update is the lease: only one drainer's update matches.
            taken = session.execute(
                update(Dispatch)
                .where(Dispatch.id == dispatch_id, Dispatch.state == PENDING,
                       or_(Dispatch.lease_until.is_(None), Dispatch.lease_until < now))
                .values(lease_until=now + timedelta(seconds=self.policy.lease_seconds))
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]  # DML results carry rowcount
                return _NOT_LEASED
            dispatch = session.get_one(Dispatch, dispatch_id)
            if dispatch.channel == INBOX:
                # Inbox dispatches are opened delivered (see _opened); a pending one was opened
                # by an earlier version and is settled like any success.
                return None
            adapter = self.channels.get(dispatch.channel)
            if adapter is None:
                raise ChannelError(f"no {dispatch.channel} adapter is configured")
            message = session.get_one(OutboxMessage, dispatch.message_id)
            try:
                rendered = self._render(session, message, dispatch.channel)
            except Exception as exc:
                # A failed attempt like any other, so a message that cannot be rendered
                # ends dead instead of retrying forever.
                log.exception("rendering outbox message %s failed", message.id)
                raise ChannelError(f"rendering failed: {type(exc).__name__}") from exc
            # Counted before the send: an attempt whose worker dies mid-send may still have
            # reached the receiver, so "attempts" never says fewer than the receiver saw.
            dispatch.attempts += 1
            disclosure = None
            if rendered.identities_disclosed:
                disclosure = self.audit.append(session, {
                    **self._event("outbox.disclosing", session, dispatch,
                                  rendered.identities_disclosed),
                    "attempt": dispatch.attempts,
                })
            trace = current_trace()
            outbound = OutboundMessage(
                delivery_id=dispatch.id, recipient=message.recipient,
                address=dispatch.address or "", subject=rendered.subject, body=rendered.body,
                traceparent=None if trace is None else trace.traceparent,
                text=rendered.text,
            )
        return adapter, outbound, rendered, disclosure

    def _render(self, session: Session, message: OutboxMessage, channel: str) -> Rendered:
        renderer = self.renderers.get(message.kind, self.default_renderer)
        payload = message.payload
        if is_sealed(payload):
            payload = self.content.open(payload, message.id)
        return renderer.render(session, message.recipient, payload, channel)

    def _record_success(self, dispatch_id: str, rendered: Rendered | None) -> None:
        with transaction(self.session_factory) as session:
            dispatch = session.get(Dispatch, dispatch_id, with_for_update=True)
            if dispatch is None or dispatch.state != PENDING:
                return
            dispatch.state, dispatch.delivered_at = DELIVERED, self.clock()
            if rendered is None:  # an inbox dispatch of an earlier version: no send, no lease
                dispatch.attempts += 1
            dispatch.lease_until = None
            if rendered is not None:
                self.audit.append(session, self._event("outbox.delivered", session, dispatch,
                                                       rendered.identities_disclosed))

    def _record_failure(self, dispatch_id: str, error: str, disclosure: str | None, *,
                        counted: bool = True) -> None:
        with transaction(self.session_factory) as session:
            dispatch = session.get(Dispatch, dispatch_id, with_for_update=True)
            if dispatch is None or dispatch.state != PENDING:
                return
            if not counted:
                dispatch.attempts += 1
            dispatch.last_error = error[:MAX_ERROR_LENGTH]
            dispatch.lease_until = None
            if disclosure is not None:
                # The outcome of an attempt whose disclosure is on the log already.
                self.audit.append(session, {
                    **self._event("outbox.attempt-failed", session, dispatch, []),
                    "disclosure_event_id": disclosure,
                })
            if dispatch.attempts >= self.policy.max_attempts:
                dispatch.state = DEAD
                self.audit.append(session, self._event("outbox.dead-lettered", session,
                                                       dispatch, []))
            else:
                dispatch.next_attempt_at = self.clock() + self.policy.delay_after(
                    dispatch.attempts)
        log.warning("delivery %s failed (%s)", dispatch_id, error)

    def _event(
        self, action: str, session: Session, dispatch: Dispatch, disclosed: list[str]
    ) -> dict[str, object]:
        message = session.get(OutboxMessage, dispatch.message_id)
        assert message is not None  # noqa: S101  # the dispatch's foreign key guarantees it
        return {
            "action": action, "actor": {"system": "outbox"},
            "message_id": message.id, "kind": message.kind, "recipient": message.recipient,
            "channel": dispatch.channel, "delivery_id": dispatch.id,
            "attempts": dispatch.attempts, "identities_disclosed": sorted(disclosed),
        }

    def _settle(self, message_id: str) -> datetime | None:
        with transaction(self.session_factory) as session:
            message = session.get(OutboxMessage, message_id, with_for_update=True)
            if message is None or message.state != PENDING:
                return None
            dispatches = list(session.scalars(
                select(Dispatch).where(Dispatch.message_id == message_id)))
            pending = [d for d in dispatches if d.state == PENDING]
            if pending:
                return min(_ready_at(d) for d in pending)
            message.state = DEAD if any(d.state == DEAD for d in dispatches) else DELIVERED
            message.finished_at = self.clock()
            return None


def due_messages_query(now: datetime, limit: int) -> Select[str]:
    """The ids of :meth:`Dispatcher.due_messages`, oldest first."""
    due_dispatch = select(Dispatch.message_id).where(
        Dispatch.state == PENDING, Dispatch.next_attempt_at <= now,
        or_(Dispatch.lease_until.is_(None), Dispatch.lease_until < now),
    )
    none_pending = ~select(Dispatch.id).where(
        Dispatch.message_id == OutboxMessage.id, Dispatch.state == PENDING).exists()
    return (select(OutboxMessage.id)
            .where(OutboxMessage.state == PENDING,
                   or_(OutboxMessage.id.in_(due_dispatch), none_pending))
            .order_by(OutboxMessage.created_at).limit(limit))


def _ready_at(dispatch: Dispatch) -> datetime:
    if dispatch.lease_until is None:
        return dispatch.next_attempt_at
    return max(dispatch.next_attempt_at, dispatch.lease_until)

