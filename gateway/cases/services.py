"""The case room: create cases from received signals, move them through the steps, assign
interventions and follow their progress. Every change is audited in its own transaction.

Persons enter a case only by the RIEC's own pseudonyms, as they appear in the deliveries of
the linked signals; the case stores the vault's opaque subject ids and case-local aliases.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.cases.interfaces import (
    ACTIVE_ASSIGNMENT_STATES,
    ASSIGNED,
    ASSIGNMENT_ACCEPTED,
    ASSIGNMENT_DECLINED,
    ASSIGNMENT_OFFERED,
    CASE_MANAGER,
    CASE_STEPS,
    CLOSED,
    NEEDS_ACCEPTED_ASSIGNMENT,
    REGIE,
    SUBJECT_ROLES,
    TRANSITIONS,
    CaseContext,
    alias,
    allowed_moves,
)
from gateway.cases.models import Case, CaseAssignment, CaseProgress, CaseSignal, CaseSubject
from gateway.cases.validation import (
    MAX_INTERVENTION_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_REASON_LENGTH,
    PARTNER_PATTERN,
    UUID_PATTERN,
    BodyReader,
)
from gateway.clock import Clock
from gateway.db import transaction
from gateway.delivery.models import Delivery
from gateway.policy.covenants import PolicyBundle
from gateway.ports import AuditAppender, AuditPseudonyms, Caller, PseudonymSource
from gateway.problems import Problem, forbidden, not_found

MAX_SIGNALS = 100
MAX_CASE_SUBJECTS = 100
MAX_LISTED = 100
PRIORITIES = ("laag", "normaal", "hoog", "urgent")
MUNICIPALITY_ROLE = "gemeente"


class CovenantParties(Protocol):
    def party_role(self, covenant: str, partner: str) -> str | None: ...

    def knows(self, covenant: str) -> bool: ...




class BundleSource(Protocol):
    @property
    def bundle(self) -> PolicyBundle: ...


@dataclass(frozen=True)
class BundleParties:
    """Covenant party roles, read from the policy bundle in force (it may be reloaded)."""

    source: BundleSource

    def knows(self, covenant: str) -> bool:
        return self.source.bundle.covenant(covenant) is not None

    def party_role(self, covenant: str, partner: str) -> str | None:
        found = self.source.bundle.covenant(covenant)
        return None if found is None else found.party_role(partner)


CaseListener = Callable[[Session, Caller, str], None]


def refused(code: str, detail: str, **extensions: Any) -> Problem:
    """A refused case action: 409, with a stable ``reason`` code beside the detail."""
    return Problem(409, "case-action-refused", "Conflict", detail,
                   extensions={"reason": code, **extensions})


@dataclass
class CaseService:
    session_factory: sessionmaker[Session]
    parties: CovenantParties
    vault: AuditPseudonyms
    pseudonyms: PseudonymSource
    audit: AuditAppender
    clock: Clock
    #: Called in the changing transaction after a move, an assignment or a decision.
    listeners: list[CaseListener] = field(default_factory=list)

    # --- HTTP-facing operations: one transaction each ---------------------------------

    def create(self, actor: Caller, body: Any) -> dict[str, Any]:
        reader = BodyReader(body, {"covenant", "signals", "subjects", "case_manager"},
                            {"covenant", "signals", "subjects", "case_manager"})
        covenant = reader.required("covenant", 128, PARTNER_PATTERN)
        manager = reader.required("case_manager", 128, PARTNER_PATTERN)
        signals = _signal_ids(reader)
        subjects = _subject_refs(reader)
        if covenant and not self.parties.knows(covenant):
            reader.fail("/covenant", f"unknown covenant {covenant!r}")
        reader.raise_if_faulty()
        if self.parties.party_role(covenant, actor.partner_id) != REGIE:
            raise forbidden("not-regie", f"only the regie party of {covenant} creates cases")
        if self.parties.party_role(covenant, manager) != MUNICIPALITY_ROLE:
            reader.fail("/case_manager", f"{manager!r} is no municipality party of {covenant}")
        with transaction(self.session_factory) as session:
            known = _received_subjects(session, actor.partner_id, covenant, signals, reader)
            resolved = _resolve_subjects(subjects, known, reader)
            reader.raise_if_faulty()
            case = Case(id=str(uuid.uuid4()), covenant=covenant, step="detectie",
                        regie=actor.partner_id, case_manager=manager,
                        created_at=self.clock.now(), updated_at=self.clock.now())
            session.add(case)
            session.flush()
            session.add_all(CaseSignal(case_id=case.id, exchange_id=e) for e in signals)
            session.add_all(
                CaseSubject(case_id=case.id, subject_id=subject_id, role=role,
                            alias=alias(index), position=index)
                for index, (subject_id, role) in enumerate(resolved)
            )
            session.flush()
            self._audit(session, actor, case, "case.created", signals=signals,
                        case_manager=manager, subjects=[
                            {"role": role, "audit_pseudonym": self.vault.audit_pseudonym(sid)}
                            for sid, role in resolved])
            return self._view(session, case, actor.partner_id)

    def read(self, actor: Caller, case_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            case = self._involved_case(session, actor, case_id)
            self._audit(session, actor, case, "case.read")
            return self._view(session, case, actor.partner_id)

    def involved(self, actor: Caller) -> list[dict[str, Any]]:
        """The newest cases the actor directs or takes part in (at most MAX_LISTED), in brief."""
        partner = actor.partner_id
        assigned = select(CaseAssignment.case_id).where(
            CaseAssignment.partner == partner,
            CaseAssignment.state.in_(ACTIVE_ASSIGNMENT_STATES))
        with transaction(self.session_factory) as session:
            candidates = session.scalars(
                select(Case).where(or_(Case.regie == partner, Case.case_manager == partner,
                                       Case.id.in_(assigned)))
                .order_by(Case.updated_at.desc(), Case.id).limit(MAX_LISTED))
            # The roles decide, as for reading one case (a regie must still be the regie).
            involved = [(case, roles) for case in candidates
                        if (roles := self.roles(session, case, partner))]
            self.audit.append(session, {"action": "case.listed", "actor": actor.actor(),
                                        "case_ids": [case.id for case, _ in involved]})
            return [{"id": case.id, "covenant": case.covenant, "step": case.step,
                     "your_roles": sorted(roles), "updated_at": case.updated_at.isoformat()}
                    for case, roles in involved]

    def move(self, actor: Caller, case_id: str, body: Any) -> dict[str, Any]:
        reader = BodyReader(body, {"to", "reason"}, {"to"})
        target = reader.required("to", 32, choices=CASE_STEPS)
        reason = reader.text("reason", MAX_REASON_LENGTH)
        reader.raise_if_faulty()
        with transaction(self.session_factory) as session:
            case = self._involved_case(session, actor, case_id)
            self.apply_move(session, actor, case, target, reason)
            return self._view(session, case, actor.partner_id)

    def assign(self, actor: Caller, case_id: str, body: Any) -> dict[str, Any]:
        reader = BodyReader(body, {"partner", "intervention", "priority"},
                            {"partner", "intervention"})
        partner = reader.required("partner", 128, PARTNER_PATTERN)
        intervention = reader.required("intervention", MAX_INTERVENTION_LENGTH)
        priority = reader.text("priority", 16, choices=PRIORITIES) or "normaal"
        reader.raise_if_faulty()
        with transaction(self.session_factory) as session:
            case = self._involved_case(session, actor, case_id)
            assignment = self.apply_assignment(session, actor, case, partner=partner,
                                               intervention=intervention, priority=priority)
            return _assignment_view(session, assignment)

    def answer_assignment(self, actor: Caller, case_id: str, assignment_id: str, body: Any
               ) -> dict[str, Any]:
        reader = BodyReader(body, {"accept", "reason"}, {"accept"})
        accept = reader.flag("accept")
        reason = reader.text("reason", MAX_REASON_LENGTH)
        if accept is False and reason is None and "reason" not in reader.body:
            reader.fail("/reason", "a declined intervention needs a reason")
        reader.raise_if_faulty()
        with transaction(self.session_factory) as session:
            case, assignment = self._own_assignment(session, actor, case_id, assignment_id)
            if case.step != "toewijzing_interventie":
                raise refused("wrong-step", f"interventions are accepted or declined at "
                              f"toewijzing_interventie; the case is at {case.step}")
            if assignment.state != ASSIGNMENT_OFFERED:
                raise refused("already-decided", f"this intervention is {assignment.state}")
            assignment.state = ASSIGNMENT_ACCEPTED if accept else ASSIGNMENT_DECLINED
            assignment.reason = reason
            assignment.decided_at = self.clock.now()
            self._audit(session, actor, case, f"case.assignment_{assignment.state}",
                        assignment_id=assignment.id, reason_given=reason is not None)
            self.changed(session, actor, case)
            return _assignment_view(session, assignment)

    def report_progress(self, actor: Caller, case_id: str, assignment_id: str, body: Any
                        ) -> dict[str, Any]:
        reader = BodyReader(body, {"note"}, {"note"})
        note = reader.required("note", MAX_NOTE_LENGTH)
        reader.raise_if_faulty()
        with transaction(self.session_factory) as session:
            case, assignment = self._own_assignment(session, actor, case_id, assignment_id)
            if case.step != "uitvoering":
                raise refused("wrong-step", f"progress is reported during uitvoering; the "
                              f"case is at {case.step}")
            if assignment.state != ASSIGNMENT_ACCEPTED:
                raise refused("not-accepted", f"this intervention is {assignment.state}")
            session.add(CaseProgress(id=str(uuid.uuid4()), assignment_id=assignment.id,
                                     note=note))
            self._audit(session, actor, case, "case.progress_reported",
                        assignment_id=assignment.id)
            self.changed(session, actor, case)
            return _assignment_view(session, assignment)

    def context_for(self, partner: str, case_id: str) -> CaseContext | None:
        """The case as an exchange naming it sees it; None for no such case *or* one that
        ``partner`` is not involved in, so a case id cannot be probed through an exchange."""
        with transaction(self.session_factory) as session:
            case = self.load(session, case_id)
            if case is None or not self.roles(session, case, partner):
                return None
            return self.contexts(session, [case_id]).get(case_id)

    # --- building blocks that run in the caller's transaction (meetings use them) -----

    def contexts(self, session: Session, case_ids: Iterable[str]) -> dict[str, CaseContext]:
        wanted = set(case_ids)
        if not wanted:
            return {}
        cases = session.scalars(select(Case).where(Case.id.in_(wanted))).all()
        assigned: dict[str, set[str]] = {case.id: set() for case in cases}
        for case_id, partner in session.execute(
            select(CaseAssignment.case_id, CaseAssignment.partner).where(
                CaseAssignment.case_id.in_(wanted),
                CaseAssignment.state.in_(ACTIVE_ASSIGNMENT_STATES))
        ):
            assigned[case_id].add(partner)
        return {
            case.id: CaseContext(case.id, case.covenant, case.step, case.case_manager,
                                 frozenset(assigned[case.id]))
            for case in cases
        }

    def subjects(self, session: Session, case_ids: Iterable[str]
                 ) -> dict[str, list[CaseSubject]]:
        found: dict[str, list[CaseSubject]] = {}
        for subject in session.scalars(
            select(CaseSubject).where(CaseSubject.case_id.in_(set(case_ids)))
            .order_by(CaseSubject.case_id, CaseSubject.position)
        ):
            found.setdefault(subject.case_id, []).append(subject)
        return found

    def apply_move(self, session: Session, actor: Caller, case: Case, target: str,
                   reason: str | None, *, settled: bool = True) -> None:
        """Move the case; ``settled=False`` when the caller makes more changes and then calls
        :meth:`changed` once, so participants get one new view rather than one per step."""
        move = (case.step, target)
        if move not in TRANSITIONS:
            raise refused("no-such-move", f"a case at {case.step} cannot move to {target}",
                          allowed_moves=allowed_moves(case.step))
        roles = self.roles(session, case, actor.partner_id)
        if not roles & TRANSITIONS[move]:
            raise refused("not-permitted", f"moving from {case.step} to {target} is for "
                          f"{' or '.join(sorted(TRANSITIONS[move]))}, not for "
                          f"{actor.partner_id}")
        if move in NEEDS_ACCEPTED_ASSIGNMENT and not _has_accepted(session, case.id):
            raise refused("no-accepted-intervention",
                          "uitvoering needs an intervention that a partner has accepted")
        previous, case.step = case.step, target
        if target == CLOSED:
            case.closed_at = self.clock.now()
        self._audit(session, actor, case, "case.moved", **{"from": previous, "to": target},
                    reason_given=reason is not None)
        if settled:
            self.changed(session, actor, case)

    def apply_assignment(self, session: Session, actor: Caller, case: Case, *, partner: str,
                         intervention: str, priority: str, settled: bool = True
                         ) -> CaseAssignment:
        if REGIE not in self.roles(session, case, actor.partner_id):
            raise refused("not-permitted", "only the regie party assigns interventions")
        if case.step != "toewijzing_interventie":
            raise refused("wrong-step", f"interventions are assigned at toewijzing_interventie;"
                          f" the case is at {case.step}")
        role = self.parties.party_role(case.covenant, partner)
        if role is None or role == REGIE:
            raise refused("not-a-partner", f"{partner} is no partner of {case.covenant} that "
                          "can carry out an intervention")
        if partner in self.contexts(session, [case.id])[case.id].assigned:
            raise refused("already-assigned", f"{partner} already holds an intervention")
        assignment = CaseAssignment(id=str(uuid.uuid4()), case_id=case.id, partner=partner,
                                    intervention=intervention, priority=priority,
                                    state=ASSIGNMENT_OFFERED, offered_at=self.clock.now())
        session.add(assignment)
        self._audit(session, actor, case, "case.assignment_offered",
                    assignment_id=assignment.id, partner=partner, priority=priority)
        if settled:
            self.changed(session, actor, case)
        return assignment

    def roles(self, session: Session, case: Case, partner: str) -> set[str]:
        roles = set()
        if partner == case.regie and self.parties.party_role(case.covenant, partner) == REGIE:
            roles.add(REGIE)
        if partner == case.case_manager:
            roles.add(CASE_MANAGER)
        # A declined (or withdrawn) intervention ends the partner's involvement, as on the agenda.
        if session.scalars(select(CaseAssignment.id).where(
                CaseAssignment.case_id == case.id, CaseAssignment.partner == partner,
                CaseAssignment.state.in_(ACTIVE_ASSIGNMENT_STATES))).first():
            roles.add(ASSIGNED)
        return roles

    def load(self, session: Session, case_id: str) -> Case | None:
        """The case, locked until the transaction ends: moves of one case happen one by one."""
        if not UUID_PATTERN.match(case_id):
            return None
        return session.get(Case, case_id, with_for_update=True)

    # --- helpers ----------------------------------------------------------------------

    def _involved_case(self, session: Session, actor: Caller, case_id: str) -> Case:
        case = self.load(session, case_id)
        if case is None or not self.roles(session, case, actor.partner_id):
            # A case one is not involved in is as absent as one that does not exist.
            raise not_found("case", f"no case {case_id!r} that you are involved in")
        return case

    def _own_assignment(self, session: Session, actor: Caller, case_id: str,
                        assignment_id: str) -> tuple[Case, CaseAssignment]:
        case = self._involved_case(session, actor, case_id)
        assignment = session.scalars(select(CaseAssignment).where(
            CaseAssignment.id == assignment_id, CaseAssignment.case_id == case.id)).first()
        if assignment is None:
            raise not_found("assignment", f"no intervention {assignment_id!r} in this case")
        if assignment.partner != actor.partner_id:
            raise forbidden("not-the-assignee", "only the assigned partner answers for it")
        return case, assignment

    def changed(self, session: Session, actor: Caller, case: Case) -> None:
        """The one place a case change takes effect: every move, assignment, decision and
        outcome ends here, so the listeners (upcoming agendas) narrow in the same transaction."""
        case.updated_at = self.clock.now()
        session.flush()
        for listener in self.listeners:
            listener(session, actor, case.id)

    def _audit(self, session: Session, actor: Caller, case: Case, action: str,
               **details: Any) -> None:
        self.audit.append(session, {
            "action": action,
            "actor": actor.actor(),
            "case_id": case.id,
            "covenant": case.covenant,
            "process_step": case.step,
            **details,
        })

    def _view(self, session: Session, case: Case, viewer: str) -> dict[str, Any]:
        roles = self.roles(session, case, viewer)
        directing = REGIE in roles or CASE_MANAGER in roles
        assignments = session.scalars(select(CaseAssignment).where(
            CaseAssignment.case_id == case.id).order_by(CaseAssignment.offered_at)).all()
        view: dict[str, Any] = {
            "id": case.id,
            "covenant": case.covenant,
            "step": case.step,
            "regie": case.regie,
            "case_manager": case.case_manager,
            "your_roles": sorted(roles),
            "allowed_moves": allowed_moves(case.step),
            "subjects": [self._subject_view(s, viewer, REGIE in roles)
                         for s in self.subjects(session, [case.id]).get(case.id, [])],
            "assignments": [_assignment_view(session, a) for a in assignments
                            if directing or a.partner == viewer],
            "created_at": case.created_at.isoformat(),
            "updated_at": case.updated_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        }
        if REGIE in roles:
            view["signals"] = sorted(session.scalars(
                select(CaseSignal.exchange_id).where(CaseSignal.case_id == case.id)))
        return view

    def _subject_view(self, subject: CaseSubject, viewer: str, with_pseudonym: bool
                      ) -> dict[str, Any]:
        view = {"alias": subject.alias, "role": subject.role}
        if with_pseudonym:
            view["pseudonym"] = self.pseudonyms.pseudonym(subject.subject_id, viewer)
        return view


def _signal_ids(reader: BodyReader) -> list[str]:
    signals: list[str] = []
    for index, exchange_id in enumerate(reader.array("signals", MAX_SIGNALS)):
        if not isinstance(exchange_id, str) or not UUID_PATTERN.match(exchange_id):
            reader.fail(f"/signals/{index}", "must be an exchange id (a lowercase UUID)")
        elif exchange_id in signals:
            reader.fail(f"/signals/{index}", "duplicate signal")
        else:
            signals.append(exchange_id)
    return signals


def _subject_refs(reader: BodyReader) -> list[tuple[int, str, str]]:
    """(index, pseudonym, role) of every well-formed subject reference."""
    refs: list[tuple[int, str, str]] = []
    for index, raw in enumerate(reader.array("subjects", MAX_CASE_SUBJECTS)):
        entry = BodyReader(raw, {"pseudonym", "role"}, {"pseudonym", "role"},
                           f"/subjects/{index}")
        pseudonym = entry.text("pseudonym", 128)
        role = entry.text("role", 32, choices=SUBJECT_ROLES)
        reader.errors.extend(entry.errors)
        if pseudonym is not None and role is not None:
            refs.append((index, pseudonym, role))
    return refs


def _received_subjects(session: Session, receiver: str, covenant: str, signals: list[str],
                       reader: BodyReader) -> dict[str, str]:
    """The receiver's pseudonym -> vault subject id, over the deliveries of ``signals``."""
    deliveries = {
        d.exchange_id: d for d in session.scalars(select(Delivery).where(
            Delivery.exchange_id.in_(signals), Delivery.recipient == receiver))
    }
    known: dict[str, str] = {}
    for index, exchange_id in enumerate(signals):
        delivery = deliveries.get(exchange_id)
        if delivery is None or delivery.payload.get("covenant") != covenant:
            reader.fail(f"/signals/{index}",
                        f"no exchange {exchange_id} under {covenant} in your inbox")
            continue
        for subject in delivery.payload.get("subjects", []):
            known[subject["pseudonym"]] = subject["subject_id"]
    return known


def _resolve_subjects(refs: list[tuple[int, str, str]], known: dict[str, str],
                      reader: BodyReader) -> list[tuple[str, str]]:
    resolved: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, pseudonym, role in refs:
        subject_id = known.get(pseudonym)
        if subject_id is None:
            reader.fail(f"/subjects/{index}/pseudonym",
                        "no person with this pseudonym in the linked signals")
        elif subject_id in seen:
            reader.fail(f"/subjects/{index}/pseudonym", "this person is already named")
        else:
            seen.add(subject_id)
            resolved.append((subject_id, role))
    return resolved


def _has_accepted(session: Session, case_id: str) -> bool:
    return session.scalars(select(CaseAssignment.id).where(
        CaseAssignment.case_id == case_id,
        CaseAssignment.state == ASSIGNMENT_ACCEPTED)).first() is not None


def _assignment_view(session: Session, assignment: CaseAssignment) -> dict[str, Any]:
    progress = session.scalars(select(CaseProgress).where(
        CaseProgress.assignment_id == assignment.id).order_by(CaseProgress.reported_at)).all()
    return {
        "id": assignment.id,
        "partner": assignment.partner,
        "intervention": assignment.intervention,
        "priority": assignment.priority,
        "state": assignment.state,
        "reason": assignment.reason,
        "offered_at": assignment.offered_at.isoformat(),
        "decided_at": assignment.decided_at.isoformat() if assignment.decided_at else None,
        "progress": [{"note": p.note, "reported_at": p.reported_at.isoformat()}
                     for p in progress],
    }
