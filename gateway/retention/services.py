"""Removing signals that never became a case once their covenant's ``signal`` term has passed.

A signal is an exchange with no case (neither named on submission nor linked to a case later).
Its removal deletes the exchange, its deliveries and their outbox rows, and shreds the identity
of every subject no remaining delivery or case still refers to; each removal is audited in the
same transaction, with audit pseudonyms, never identifiers. A covenant the bundle no longer
knows keeps its records: without terms nothing is removed.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import String, cast, delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.cases.models import CaseSignal, CaseSubject
from gateway.db import transaction, utcnow
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.outbox.models import Dispatch, OutboxMessage
from gateway.policy.covenants import Covenant

log = logging.getLogger(__name__)

SIGNAL_TERM = "signal"


class CovenantSource(Protocol):
    def covenant(self, covenant_id: str) -> Covenant | None: ...


class Shredder(Protocol):
    def shred(self, session: Session, subject_id: str) -> None: ...

    def audit_pseudonym(self, subject_id: str) -> str: ...


class AuditAppender(Protocol):
    def append(self, session: Session, event: dict[str, Any]) -> str: ...


@dataclass
class RetentionService:
    session_factory: sessionmaker[Session]
    covenants: Callable[[], CovenantSource]
    vault: Shredder
    audit: AuditAppender

    def run(self, now: datetime | None = None) -> int:
        """Remove every expired signal, each in its own transaction; returns how many."""
        moment = now or utcnow()
        expired = self._expired_signals(moment)
        for exchange_id in expired:
            with transaction(self.session_factory) as session:
                self._remove(session, exchange_id)
        return len(expired)

    def _expired_signals(self, now: datetime) -> list[str]:
        source = self.covenants()
        with transaction(self.session_factory) as session:
            covenant_ids = session.scalars(select(Exchange.covenant).distinct()).all()
            expired: list[str] = []
            for covenant_id in covenant_ids:
                covenant = source.covenant(covenant_id)
                term = covenant.retention.get(SIGNAL_TERM) if covenant else None
                if term is None:
                    log.warning("no signal retention term for %s; keeping its records",
                                covenant_id)
                    continue
                expired += session.scalars(select(Exchange.id).where(
                    Exchange.covenant == covenant_id, Exchange.case_id.is_(None),
                    Exchange.created_at < months_before(now, term.months),
                    ~exists().where(CaseSignal.exchange_id == Exchange.id),
                ))
        return expired

    def _remove(self, session: Session, exchange_id: str) -> None:
        exchange = session.get(Exchange, exchange_id, with_for_update=True)
        if exchange is None:
            return
        deliveries = list(session.scalars(
            select(Delivery).where(Delivery.exchange_id == exchange_id)))
        subjects = sorted({s["subject_id"] for d in deliveries for s in d.payload["subjects"]})
        _delete_outbox_rows(session, [d.id for d in deliveries])
        session.execute(delete(Delivery).where(Delivery.exchange_id == exchange_id))
        session.delete(exchange)
        session.flush()
        shredded = [s for s in subjects if not _still_referenced(session, s)]
        for subject_id in shredded:
            self.vault.shred(session, subject_id)
        self.audit.append(session, {
            "action": "retention.signal-removed", "actor": {"system": "retention"},
            "exchange_id": exchange_id, "covenant": exchange.covenant,
            "deliveries_removed": len(deliveries),
            "identities_shredded": [self.vault.audit_pseudonym(s) for s in shredded],
            "identities_kept": len(subjects) - len(shredded),
        })


def _delete_outbox_rows(session: Session, delivery_ids: list[str]) -> None:
    keys = [f"exchange.delivery:{d}" for d in delivery_ids]
    messages = select(OutboxMessage.id).where(OutboxMessage.idempotency_key.in_(keys))
    session.execute(delete(Dispatch).where(Dispatch.message_id.in_(messages)))
    session.execute(delete(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys)))


def _still_referenced(session: Session, subject_id: str) -> bool:
    # A text match on the stored payload errs towards keeping an identity, never towards
    # shredding one that a remaining delivery still names.
    in_delivery = exists().where(cast(Delivery.payload, String).contains(subject_id))
    in_case = exists().where(CaseSubject.subject_id == subject_id)
    return bool(session.scalar(select(in_delivery | in_case)))


def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months earlier (clamped to that month's last day)."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return moment.replace(year=year, month=month_index + 1, day=day)
