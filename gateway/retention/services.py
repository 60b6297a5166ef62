"""Removing what the covenant's retention terms say has expired.

A signal is an exchange with no case (neither named on submission nor linked to a case later);
it goes once the ``signal`` term has passed since it was received. A closed case goes once the
``case`` term has passed since it was closed, with its subjects, assignments and their progress,
the agenda items about it (and the stored agenda views of their meetings, which show it, and
the queued ``agenda.view`` outbox messages of those meetings, which carry its titles, questions
and proposals), and the exchanges linked to it that no other case still holds. Removing an
exchange deletes its deliveries and their outbox rows. Afterwards the identity of every
subject no remaining delivery or case still refers to is shredded, with the person's linkage
rows and the reasons of re-identification requests about them; each removal is audited in its
own transaction, with audit pseudonyms, never identifiers. Once a run has shredded anyone,
``after_shredding`` starts a new master key epoch and purges SQLite's freed pages. A covenant
the bundle no longer knows keeps its records: without terms nothing is removed.

Two terms are the gateway's own (:class:`HousekeepingTerms`, from the settings), not a
covenant's: re-identification requests (their free-text reasons) go once the term has passed
since they were made, and settled outbox messages (delivered or dead, with the finished view
some of them carry) once it has passed since they settled.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, Select, String, and_, cast, delete, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from gateway.cases.interfaces import CLOSED
from gateway.cases.models import Case, CaseAssignment, CaseProgress, CaseSignal, CaseSubject
from gateway.clock import Clock
from gateway.db import transaction
from gateway.delivery.messages import CASE_MESSAGE_KINDS, InboxMessage
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.identity.models import Reidentification
from gateway.meetings.interfaces import AGENDA_VIEW_KIND
from gateway.meetings.models import AgendaItem, PublishedView
from gateway.outbox.interfaces import DEAD, DELIVERED
from gateway.outbox.models import Dispatch, OutboxMessage
from gateway.policy.covenants import Covenant
from gateway.ports import AuditAppender, Shredder
from gateway.progress import Progress, no_progress

log = logging.getLogger(__name__)

SIGNAL_TERM = "signal"
CASE_TERM = "case"


class CovenantSource(Protocol):
    def covenant(self, covenant_id: str) -> Covenant | None: ...


@dataclass(frozen=True)
class HousekeepingTerms:
    reidentification_months: int
    settled_outbox_days: int


@dataclass(frozen=True)
class RetentionRun:
    signals: int
    cases: int
    reidentifications: int = 0
    outbox_messages: int = 0


@dataclass
class RetentionService:
    session_factory: sessionmaker[Session]
    covenants: Callable[[], CovenantSource]
    vault: Shredder
    audit: AuditAppender
    clock: Clock
    terms: HousekeepingTerms
    after_shredding: Callable[[], object] | None = None

    def due(self, now: datetime | None = None) -> RetentionRun:
        """What :meth:`run` would remove now; removes nothing."""
        moment = now or self.clock.now()
        return RetentionRun(signals=len(self._expired_signals(moment)),
                            cases=len(self._expired_cases(moment)))

    def run(self, now: datetime | None = None, progress: Progress = no_progress
            ) -> RetentionRun:
        """Remove every expired signal and closed case, each in its own transaction;
        ``progress`` hears ("signals" or "cases", removed so far, due) after each."""
        moment = now or self.clock.now()
        shredded = 0
        signals = self._expired_signals(moment)
        for done, exchange_id in enumerate(signals, start=1):
            with transaction(self.session_factory) as session:
                shredded += self._remove_signal(session, exchange_id)
            progress("signals", done, len(signals))
        cases = self._expired_cases(moment)
        for done, case_id in enumerate(cases, start=1):
            with transaction(self.session_factory) as session:
                shredded += self._remove_case(session, case_id)
            progress("cases", done, len(cases))
        if shredded and self.after_shredding is not None:
            self.after_shredding()
        with transaction(self.session_factory) as session:
            reidentifications = self._remove_reidentifications(session, moment)
            outbox_messages = self._remove_settled_outbox(session, moment)
        return RetentionRun(signals=len(signals), cases=len(cases),
                            reidentifications=reidentifications, outbox_messages=outbox_messages)

    def _remove_reidentifications(self, session: Session, now: datetime) -> int:
        cutoff = months_before(now, self.terms.reidentification_months)
        removed = len(session.scalars(delete(Reidentification).where(
            Reidentification.created_at < cutoff).returning(Reidentification.id)).all())
        if removed:
            self.audit.append(session, {
                "action": "retention.reidentifications_removed", "actor": {"system": "retention"},
                "made_before": cutoff.isoformat(), "count": removed,
            })
        return removed

    def _remove_settled_outbox(self, session: Session, now: datetime) -> int:
        cutoff = now - timedelta(days=self.terms.settled_outbox_days)
        settled = OutboxMessage.id.in_(select(OutboxMessage.id).where(
            OutboxMessage.state.in_((DELIVERED, DEAD)), OutboxMessage.finished_at < cutoff))
        count = _delete_outbox_rows(session, settled)
        if count:
            self.audit.append(session, {
                "action": "retention.outbox_removed", "actor": {"system": "retention"},
                "settled_before": cutoff.isoformat(), "count": count,
            })
        return count

    def _expired_signals(self, now: datetime) -> list[str]:
        return self._expired(SIGNAL_TERM, Exchange.covenant, _signals_received_before, now)

    def _expired_cases(self, now: datetime) -> list[str]:
        return self._expired(CASE_TERM, Case.covenant, _cases_closed_before, now)

    def _expired(self, term_name: str, covenant_column: InstrumentedAttribute[str],
                 expired_before: Callable[[str, datetime], Select[str]],
                 now: datetime) -> list[str]:
        source = self.covenants()
        with transaction(self.session_factory) as session:
            covenant_ids = session.scalars(select(covenant_column).distinct()).all()
            expired: list[str] = []
            for covenant_id in covenant_ids:
                covenant = source.covenant(covenant_id)
                term = covenant.retention.get(term_name) if covenant else None
                if term is None:
                    log.warning("no %s retention term for %s; keeping its records",
                                term_name, covenant_id)
                    continue
                expired += session.scalars(
                    expired_before(covenant_id, months_before(now, term.months)))
        return expired

    def _remove_signal(self, session: Session, exchange_id: str) -> int:
        """Remove one expired signal; the number of identities shredded."""
        exchange = session.get(Exchange, exchange_id, with_for_update=True)
        if exchange is None:
            return 0
        deliveries, subjects = _remove_exchanges(session, [exchange_id])
        shredded = self._shred_unreferenced(session, subjects)
        self.audit.append(session, {
            "action": "retention.signal-removed", "actor": {"system": "retention"},
            "exchange_id": exchange_id, "covenant": exchange.covenant,
            "deliveries_removed": deliveries,
            "identities_shredded": [self.vault.audit_pseudonym(s) for s in shredded],
            "identities_kept": len(subjects) - len(shredded),
        })
        return len(shredded)

    def _remove_case(self, session: Session, case_id: str) -> int:
        """Remove one expired closed case; the number of identities shredded."""
        case = session.get(Case, case_id, with_for_update=True)
        if case is None or case.step != CLOSED:
            return 0
        # Chosen before the case's rows go: its signal rows tell which exchanges it holds.
        exchange_ids = list(session.scalars(_exchanges_held_only_by(case_id)))
        subjects = set(session.scalars(
            select(CaseSubject.subject_id).where(CaseSubject.case_id == case_id)))
        _remove_case_rows(session, case_id)
        deliveries, named = _remove_exchanges(session, exchange_ids)
        subjects |= named
        session.delete(case)
        session.flush()
        shredded = self._shred_unreferenced(session, subjects)
        self.audit.append(session, {
            "action": "retention.case_removed", "actor": {"system": "retention"},
            "case_id": case_id, "covenant": case.covenant,
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
            "exchanges_removed": len(exchange_ids), "deliveries_removed": deliveries,
            "identities_shredded": [self.vault.audit_pseudonym(s) for s in shredded],
            "identities_kept": len(subjects) - len(shredded),
        })
        return len(shredded)

    def _shred_unreferenced(self, session: Session, subjects: set[str]) -> list[str]:
        shredded = [s for s in sorted(subjects) if not _still_referenced(session, s)]
        for subject_id in shredded:
            self.vault.shred(session, subject_id)
        return shredded


def _signals_received_before(covenant_id: str, cutoff: datetime) -> Select[str]:
    return select(Exchange.id).where(
        Exchange.covenant == covenant_id, Exchange.case_id.is_(None),
        Exchange.created_at < cutoff,
        ~exists().where(CaseSignal.exchange_id == Exchange.id),
    )


def _cases_closed_before(covenant_id: str, cutoff: datetime) -> Select[str]:
    return select(Case.id).where(
        Case.covenant == covenant_id, Case.step == CLOSED, Case.closed_at < cutoff)


def _exchanges_held_only_by(case_id: str) -> Select[str]:
    """The case's exchanges (named on submission or its signals) no other case holds."""
    linked = or_(Exchange.case_id == case_id, exists().where(
        CaseSignal.case_id == case_id, CaseSignal.exchange_id == Exchange.id))
    held_elsewhere = or_(
        and_(Exchange.case_id.is_not(None), Exchange.case_id != case_id),
        exists().where(CaseSignal.case_id != case_id, CaseSignal.exchange_id == Exchange.id))
    return select(Exchange.id).where(linked, ~held_elsewhere)


def _remove_case_rows(session: Session, case_id: str) -> None:
    # A stored agenda view shows every item of its meeting; dropping it only means the
    # meeting's next publication notifies all its participants again.
    meetings = select(AgendaItem.meeting_id).where(AgendaItem.case_id == case_id)
    session.execute(delete(PublishedView).where(PublishedView.meeting_id.in_(meetings)))
    agenda_views = [
        OutboxMessage.idempotency_key.startswith(f"{AGENDA_VIEW_KIND}:{meeting_id}:",
                                                 autoescape=True)
        for meeting_id in session.scalars(meetings.distinct())]
    if agenda_views:
        _delete_outbox_rows(session, or_(*agenda_views))
    # Messages about the case (their outbox keys start kind:case id:), and the agenda views
    # of its meetings kept in the inbox.
    _delete_outbox_rows(session, or_(*(
        OutboxMessage.idempotency_key.startswith(f"{kind}:{case_id}:", autoescape=True)
        for kind in CASE_MESSAGE_KINDS)))
    session.execute(delete(InboxMessage).where(or_(InboxMessage.case_id == case_id,
                                                   InboxMessage.meeting_id.in_(meetings))))
    session.execute(delete(AgendaItem).where(AgendaItem.case_id == case_id))
    assignments = select(CaseAssignment.id).where(CaseAssignment.case_id == case_id)
    session.execute(delete(CaseProgress).where(CaseProgress.assignment_id.in_(assignments)))
    session.execute(delete(CaseAssignment).where(CaseAssignment.case_id == case_id))
    session.execute(delete(CaseSubject).where(CaseSubject.case_id == case_id))
    session.execute(delete(CaseSignal).where(CaseSignal.case_id == case_id))


def _remove_exchanges(session: Session, exchange_ids: list[str]) -> tuple[int, set[str]]:
    """Delete the exchanges, their deliveries and outbox rows; returns (deliveries, subjects)."""
    deliveries = session.execute(delete(Delivery).where(Delivery.exchange_id.in_(exchange_ids))
                                 .returning(Delivery.id, Delivery.payload)).all()
    subjects = {s["subject_id"] for _, payload in deliveries for s in payload["subjects"]}
    _delete_outbox_rows(session, OutboxMessage.idempotency_key.in_(
        [f"exchange.delivery:{delivery_id}" for delivery_id, _ in deliveries]))
    session.execute(delete(Exchange).where(Exchange.id.in_(exchange_ids)))
    session.flush()
    return len(deliveries), subjects


def _delete_outbox_rows(session: Session, which: ColumnElement[bool]) -> int:
    """Delete the outbox messages ``which`` selects, with their dispatches; how many messages."""
    messages = select(OutboxMessage.id).where(which)
    session.execute(delete(Dispatch).where(Dispatch.message_id.in_(messages)))
    return len(session.scalars(delete(OutboxMessage).where(which)
                               .returning(OutboxMessage.id)).all())


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
