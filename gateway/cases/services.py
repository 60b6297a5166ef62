"""The case room: create cases from received signals, move them through the steps, assign
interventions and follow their progress. Every change is audited in its own transaction.

Persons enter a case only by the RIEC's own pseudonyms, as they appear in the deliveries of
the linked signals; the case stores the vault's opaque subject ids and case-local aliases.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
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
from gateway.cases.notices import CaseNotifier, about_assignment, about_case, persons_for
from gateway.cases.validation import (
    MAX_INTERVENTION_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_REASON_LENGTH,
    PARTNER_PATTERN,
    UUID_PATTERN,
    BodyReader,
)
from gateway.cases.worklist import WorkListQuery, encode_cursor, is_overdue
from gateway.clock import Clock
from gateway.db import transaction
from gateway.delivery.messages import (
    CASE_MANAGER_APPOINTED,
    DEADLINE_PASSED,
    INTERVENTION_ACCEPTED,
    INTERVENTION_DECLINED,
    INTERVENTION_OFFERED,
)
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

    def step_deadline(self, covenant: str, step: str) -> int | None: ...




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

    def step_deadline(self, covenant: str, step: str) -> int | None:
        """Days a case may stay at ``step`` under the covenant in force; None for no term."""
        found = self.source.bundle.covenant(covenant)
        return None if found is None else found.step_deadlines.get(step)


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
    notifier: CaseNotifier
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
            self._start_step(case)
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
            self.notifier.notify(
                session, recipient=manager, kind=CASE_MANAGER_APPOINTED,
                content=about_case(CASE_MANAGER_APPOINTED, case), case_id=case.id,
                idempotency_key=f"{CASE_MANAGER_APPOINTED}:{case.id}:{manager}")
            return self._view(session, case, actor.partner_id)

    def read(self, actor: Caller, case_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            case = self._involved_case(session, actor, case_id)
            self._audit(session, actor, case, "case.read")
            return self._view(session, case, actor.partner_id)

    def work_list(self, actor: Caller, query: WorkListQuery) -> dict[str, Any]:
        """A page of the caller's cases matching ``query``, newest first, with the cursor of
        the next page (None on the last)."""
        partner, now = actor.partner_id, self.clock.now()
        with transaction(self.session_factory) as session:
            rows = list(session.scalars(query.statement(partner, now)))
            page = rows[:query.limit]
            # The roles decide, as for reading one case (a regie must still be the regie).
            involved = [(case, roles) for case in page
                        if (roles := self.roles(session, case, partner))]
            self.audit.append(session, {"action": "case.listed", "actor": actor.actor(),
                                        "case_ids": [case.id for case, _ in involved]})
            return {
                "items": [{"id": case.id, "covenant": case.covenant, "step": case.step,
                           "your_roles": sorted(roles), "created_at": case.created_at.isoformat(),
                           "updated_at": case.updated_at.isoformat(),
                           "due_at": _moment(case.step_due_at),
                           "overdue": is_overdue(case, now)}
                          for case, roles in involved],
                "next_cursor": encode_cursor(page[-1]) if len(rows) > query.limit else None,
            }

    def involved(self, actor: Caller) -> list[dict[str, Any]]:
        """The newest cases the actor takes part in (one full page), for the workspace."""
        items: list[dict[str, Any]] = self.work_list(
            actor, WorkListQuery(limit=MAX_LISTED))["items"]
        return items

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
        reader = BodyReader(body, {"partner", "intervention", "priority", "subjects"},
                            {"partner", "intervention"})
        partner = reader.required("partner", 128, PARTNER_PATTERN)
        intervention = reader.required("intervention", MAX_INTERVENTION_LENGTH)
        priority = reader.text("priority", 16, choices=PRIORITIES) or "normaal"
        named = pseudonym_list(reader, "subjects")
        reader.raise_if_faulty()
        with transaction(self.session_factory) as session:
            case = self._involved_case(session, actor, case_id)
            subject_ids = self.named_subjects(session, actor, case, named, reader,
                                              pointer="/subjects")
            assignment = self.apply_assignment(session, actor, case, partner=partner,
                                               intervention=intervention, priority=priority,
                                               subject_ids=subject_ids)
            return self._assignment_view(session, case, assignment, actor.partner_id)

    def answer_assignment(self, actor: Caller, case_id: str, assignment_id: str, body: Any
               ) -> dict[str, Any]:
        reader = BodyReader(body, {"accept", "reason", *PLANNING_FIELDS}, {"accept"})
        accept = reader.flag("accept")
        reason = reader.text("reason", MAX_REASON_LENGTH)
        if accept is False and reason is None and "reason" not in reader.body:
            reader.fail("/reason", "a declined intervention needs a reason")
        planning = read_planning(reader, accept is not False)
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
            planning.apply(assignment)
            self._audit(session, actor, case, f"case.assignment_{assignment.state}",
                        assignment_id=assignment.id, reason_given=reason is not None,
                        priority=assignment.priority)
            self._tell_directors(session, actor, case, assignment)
            self.changed(session, actor, case)
            return self._assignment_view(session, case, assignment, actor.partner_id)

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
            return self._assignment_view(session, case, assignment, actor.partner_id)

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
        self._start_step(case)
        if target == CLOSED:
            case.closed_at = self.clock.now()
        self._audit(session, actor, case, "case.moved", **{"from": previous, "to": target},
                    reason_given=reason is not None)
        if settled:
            self.changed(session, actor, case)

    def apply_assignment(self, session: Session, actor: Caller, case: Case, *, partner: str,
                         intervention: str, priority: str, subject_ids: list[str],
                         settled: bool = True) -> CaseAssignment:
        if REGIE not in self.roles(session, case, actor.partner_id):
            raise refused("not-permitted", "only the regie party assigns interventions")
        if case.step != "toewijzing_interventie":
            raise refused("wrong-step", f"interventions are assigned at toewijzing_interventie;"
                          f" the case is at {case.step}")
        role = self.parties.party_role(case.covenant, partner)
        if role is None or role == REGIE:
            raise refused("not-a-partner", f"{partner} is no partner of {case.covenant} that "
                          "can carry out an intervention")
        if _overlapping(session, case.id, partner, subject_ids):
            raise refused("already-assigned", f"{partner} already holds an intervention for "
                          "the case or for one of these persons")
        assignment = CaseAssignment(id=str(uuid.uuid4()), case_id=case.id, partner=partner,
                                    intervention=intervention, priority=priority,
                                    state=ASSIGNMENT_OFFERED, offered_at=self.clock.now(),
                                    subject_ids=subject_ids)
        session.add(assignment)
        self._audit(session, actor, case, "case.assignment_offered",
                    assignment_id=assignment.id, partner=partner, priority=priority,
                    subjects=[self.vault.audit_pseudonym(sid) for sid in subject_ids])
        persons = persons_for(self.pseudonyms, self.subjects(session, [case.id]).get(case.id, []),
                              subject_ids, partner)
        self.notifier.notify(
            session, recipient=partner, kind=INTERVENTION_OFFERED, case_id=case.id,
            content=about_assignment(INTERVENTION_OFFERED, case, assignment, persons),
            idempotency_key=f"{INTERVENTION_OFFERED}:{case.id}:{assignment.id}")
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

    def named_subjects(self, session: Session, actor: Caller, case: Case, named: list[str],
                       reader: BodyReader, *, pointer: str) -> list[str]:
        """The vault ids of the case's persons ``named`` by the actor's own pseudonyms."""
        if not named:
            return []
        known = {self.pseudonyms.pseudonym(s.subject_id, actor.partner_id): s.subject_id
                 for s in self.subjects(session, [case.id]).get(case.id, [])}
        for index, pseudonym in enumerate(named):
            if pseudonym not in known:
                reader.fail(f"{pointer}/{index}", "no person of this case has this pseudonym "
                            "of yours")
        reader.raise_if_faulty()
        return [known[pseudonym] for pseudonym in named]

    def notify_overdue(self) -> int:
        """Tell the regie and the case manager of each case whose step's term has passed,
        once per step; returns how many cases were found late. Run periodically."""
        now = self.clock.now()
        with transaction(self.session_factory) as session:
            late = list(session.scalars(select(Case).where(
                Case.step != CLOSED, Case.step_due_at.is_not(None), Case.step_due_at < now,
                Case.overdue_notified_at.is_(None)).order_by(Case.step_due_at).limit(
                    MAX_LISTED).with_for_update()))
            for case in late:
                case.overdue_notified_at = now
                content = {**about_case(DEADLINE_PASSED, case), "due_at": _moment(case.step_due_at)}
                for recipient in sorted({case.regie, case.case_manager}):
                    self.notifier.notify(
                        session, recipient=recipient, kind=DEADLINE_PASSED, content=content,
                        case_id=case.id, idempotency_key=f"{DEADLINE_PASSED}:{case.id}:"
                        f"{case.step}:{_moment(case.step_entered_at)}:{recipient}")
                self.audit.append(session, {
                    "action": "case.deadline_passed", "actor": {"system": "deadlines"},
                    "case_id": case.id, "covenant": case.covenant, "process_step": case.step})
            return len(late)

    def _start_step(self, case: Case) -> None:
        """The step begins now; its term, if the covenant sets one, runs from here."""
        now = self.clock.now()
        days = self.parties.step_deadline(case.covenant, case.step)
        case.step_entered_at = now
        case.step_due_at = None if days is None or case.step == CLOSED else (
            now + timedelta(days=days))
        case.overdue_notified_at = None

    def _tell_directors(self, session: Session, actor: Caller, case: Case,
                        assignment: CaseAssignment) -> None:
        kind = (INTERVENTION_ACCEPTED if assignment.state == ASSIGNMENT_ACCEPTED
                else INTERVENTION_DECLINED)
        subjects = self.subjects(session, [case.id]).get(case.id, [])
        for recipient in sorted({case.regie, case.case_manager} - {actor.partner_id}):
            persons = persons_for(self.pseudonyms, subjects, assignment.subject_ids, recipient)
            if recipient != case.regie:
                persons = [{"alias": p["alias"], "role": p["role"]} for p in persons]
            self.notifier.notify(
                session, recipient=recipient, kind=kind, case_id=case.id,
                content=about_assignment(kind, case, assignment, persons),
                idempotency_key=f"{kind}:{case.id}:{assignment.id}:{recipient}")

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
        visible = [a for a in session.scalars(select(CaseAssignment).where(
            CaseAssignment.case_id == case.id).order_by(CaseAssignment.offered_at))
                   if directing or a.partner == viewer]
        subjects = self.subjects(session, [case.id]).get(case.id, [])
        assignments = [self._assignment_view(session, case, a, viewer, subjects=subjects,
                                             roles=roles)
                       for a in visible]
        view: dict[str, Any] = {
            "id": case.id,
            "covenant": case.covenant,
            "step": case.step,
            "regie": case.regie,
            "case_manager": case.case_manager,
            "your_roles": sorted(roles),
            "allowed_moves": allowed_moves(case.step),
            "subjects": [self._subject_view(s, viewer, REGIE in roles) for s in subjects],
            "assignments": assignments,
            "plan": _plan(subjects, visible, assignments),
            "due_at": _moment(case.step_due_at),
            "overdue": is_overdue(case, self.clock.now()),
            "created_at": case.created_at.isoformat(),
            "updated_at": case.updated_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        }
        if REGIE in roles:
            view["signals"] = sorted(session.scalars(
                select(CaseSignal.exchange_id).where(CaseSignal.case_id == case.id)))
        return view

    def _assignment_view(self, session: Session, case: Case, assignment: CaseAssignment,
                         viewer: str, *, subjects: list[CaseSubject] | None = None,
                         roles: set[str] | None = None) -> dict[str, Any]:
        """An intervention with the persons it concerns: by alias, with the viewer's own
        pseudonym for the regie and for the partner carrying it out."""
        if subjects is None:
            subjects = self.subjects(session, [case.id]).get(case.id, [])
        if roles is None:
            roles = self.roles(session, case, viewer)
        own = REGIE in roles or assignment.partner == viewer
        persons = persons_for(self.pseudonyms, subjects, assignment.subject_ids, viewer)
        if not own:
            persons = [{"alias": p["alias"], "role": p["role"]} for p in persons]
        return {**_assignment_view(session, assignment), "subjects": persons}

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
        "planned_start": assignment.planned_start.isoformat() if assignment.planned_start
        else None,
        "planned_end": assignment.planned_end.isoformat() if assignment.planned_end else None,
        "progress": [{"note": p.note, "reported_at": p.reported_at.isoformat()}
                     for p in progress],
    }


PLANNING_FIELDS = ("priority", "planned_start", "planned_end")


@dataclass(frozen=True)
class Planning:
    """The assigned partner's own priority and dates, set when it accepts."""

    priority: str | None = None
    planned_start: date | None = None
    planned_end: date | None = None

    def apply(self, assignment: CaseAssignment) -> None:
        if self.priority is not None:
            assignment.priority = self.priority
        assignment.planned_start = self.planned_start or assignment.planned_start
        assignment.planned_end = self.planned_end or assignment.planned_end


def read_planning(reader: BodyReader, accepting: bool) -> Planning:
    """Priority and planned dates; only with an acceptance, the end not before the start."""
    given = [name for name in PLANNING_FIELDS if name in reader.body]
    if given and not accepting:
        for name in given:
            reader.fail(f"/{name}", "only when accepting the intervention")
        return Planning()
    priority = reader.text("priority", 16, choices=PRIORITIES)
    start, end = _day(reader, "planned_start"), _day(reader, "planned_end")
    if start is not None and end is not None and end < start:
        reader.fail("/planned_end", "cannot be before planned_start")
    return Planning(priority, start, end)


def pseudonym_list(reader: BodyReader, name: str) -> list[str]:
    """A list of the caller's own pseudonyms naming persons of the case, each once."""
    named: list[str] = []
    for index, pseudonym in enumerate(reader.array(name, MAX_CASE_SUBJECTS)):
        if not isinstance(pseudonym, str) or not 0 < len(pseudonym) <= 128:
            reader.fail(f"/{name}/{index}", "must be a pseudonym of yours")
        elif pseudonym in named:
            reader.fail(f"/{name}/{index}", "this person is already named")
        else:
            named.append(pseudonym)
    return named


def _day(reader: BodyReader, name: str) -> date | None:
    raw = reader.text(name, 10)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        reader.fail(f"/{name}", "must be a date, YYYY-MM-DD")
        return None


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _overlapping(session: Session, case_id: str, partner: str, subject_ids: list[str]) -> bool:
    """Whether the partner already holds an intervention for the case as a whole, or for one
    of these persons (or is offered one for the whole case while it holds any)."""
    for held in session.scalars(select(CaseAssignment.subject_ids).where(
            CaseAssignment.case_id == case_id, CaseAssignment.partner == partner,
            CaseAssignment.state.in_(ACTIVE_ASSIGNMENT_STATES))):
        if not held or not subject_ids or set(held) & set(subject_ids):
            return True
    return False


def _plan(subjects: list[CaseSubject], assignments: list[CaseAssignment],
          views: list[dict[str, Any]]) -> dict[str, Any]:
    """The visible interventions per person, and those for the case as a whole."""
    brief = [{key: view[key] for key in ("id", "partner", "intervention", "state", "priority",
                                         "planned_start", "planned_end")} for view in views]
    return {
        "persons": [{"alias": s.alias, "role": s.role,
                     "interventions": [b for a, b in zip(assignments, brief, strict=True)
                                       if s.subject_id in a.subject_ids]}
                    for s in subjects],
        "case": [b for a, b in zip(assignments, brief, strict=True) if not a.subject_ids],
    }
