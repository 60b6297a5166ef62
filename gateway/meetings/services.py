"""The case meeting room: compose an agenda, route it through the policy, publish each
participant its own view through the outbox, and record the outcomes that move cases on.

What leaves this room for a participant is built only from the items routed to it: a hidden
item contributes nothing (no id, no title, no number), and visible items are numbered among
themselves, so not even a gap in the numbering betrays it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.cases.interfaces import CASE_STEPS, CLOSED, REGIE, CaseContext
from gateway.cases.models import CaseSubject
from gateway.cases.services import (
    MAX_LISTED,
    PRIORITIES,
    CaseService,
    CovenantParties,
    pseudonym_list,
    refused,
)
from gateway.cases.validation import (
    MAX_INTERVENTION_LENGTH,
    MAX_QUESTION_LENGTH,
    MAX_TITLE_LENGTH,
    PARTNER_PATTERN,
    UUID_PATTERN,
    BodyReader,
)
from gateway.clock import Clock
from gateway.db import transaction
from gateway.delivery.messages import AGENDA_CHANGED, AGENDA_PUBLISHED
from gateway.meetings.interfaces import (
    AGENDA_TITLES,
    AGENDA_VIEW_KIND,
    DRAFT,
    FULL,
    HIDDEN,
    PSEUDONYMISED,
    PUBLISHED,
    AgendaNotifier,
    AgendaOutbox,
)
from gateway.meetings.models import AgendaItem, Meeting, MeetingParticipant, PublishedView
from gateway.meetings.routing import AgendaRouter, Routed, RoutingQuestion
from gateway.ports import AuditAppender, Caller, PseudonymSource
from gateway.problems import FieldError, forbidden, not_found, validation_failed

MAX_PARTICIPANTS = 50
MAX_ITEMS = 200


@dataclass(frozen=True)
class Agenda:
    """Everything routing and rendering need about one meeting, loaded in one go."""

    meeting: Meeting
    participants: list[str]
    items: list[AgendaItem]
    cases: dict[str, CaseContext]
    subjects: dict[str, list[CaseSubject]]

    def questions(self) -> dict[tuple[str, str], RoutingQuestion]:
        """(participant, case id) -> the routing question that decides its view."""
        return {
            (participant, case.case_id): RoutingQuestion(
                participant, case.step, case.involvement(participant),
                case_manager=participant == case.case_manager)
            for participant in self.participants
            for case in self.cases.values()
        }


@dataclass
class MeetingService:
    session_factory: sessionmaker[Session]
    cases: CaseService
    parties: CovenantParties
    router: AgendaRouter
    pseudonyms: PseudonymSource
    outbox: AgendaOutbox
    audit: AuditAppender
    clock: Clock
    notifier: AgendaNotifier

    def create(self, actor: Caller, body: Any) -> dict[str, Any]:
        reader = BodyReader(body, {"covenant", "date", "participants"},
                            {"covenant", "date", "participants"})
        covenant = reader.required("covenant", 128, PARTNER_PATTERN)
        held_on = _date(reader)
        participants = self._participants(reader, covenant)
        reader.raise_if_faulty()
        assert held_on is not None  # noqa: S101 -- a required field, checked above
        if self.parties.party_role(covenant, actor.partner_id) != REGIE:
            raise forbidden("not-regie", f"only the regie party of {covenant} calls meetings")
        with transaction(self.session_factory) as session:
            meeting = Meeting(id=str(uuid.uuid4()), covenant=covenant, regie=actor.partner_id,
                              held_on=held_on, state=DRAFT, version=0)
            session.add(meeting)
            session.flush()
            session.add_all(MeetingParticipant(meeting_id=meeting.id, partner=p)
                            for p in participants)
            session.flush()
            self._audit(session, actor, meeting, "meeting.created", participants=participants)
            return _meeting_view(meeting, participants)

    def add_item(self, actor: Caller, meeting_id: str, body: Any) -> dict[str, Any]:
        reader = BodyReader(body, {"case_id", "title", "question", "proposed_decision"},
                            {"case_id", "title", "question", "proposed_decision"})
        case_id = reader.required("case_id", 36, UUID_PATTERN)
        title = reader.required("title", MAX_TITLE_LENGTH)
        question = reader.required("question", MAX_QUESTION_LENGTH)
        proposal = reader.required("proposed_decision", MAX_QUESTION_LENGTH)
        reader.raise_if_faulty()
        with transaction(self.session_factory) as session:
            # Case before meeting, the order a case change takes (see case_changed).
            case = self.cases.load(session, case_id)
            meeting = self._own_meeting(session, actor, meeting_id)
            if case is None or case.regie != actor.partner_id or (
                    case.covenant != meeting.covenant):
                raise validation_failed([FieldError(
                    "/case_id", f"no case {case_id} of yours under {meeting.covenant}")])
            if case.step == CLOSED:
                raise refused("case-closed", "a closed case is not put on an agenda")
            position = (session.scalar(select(func.max(AgendaItem.position)).where(
                AgendaItem.meeting_id == meeting.id)) or 0) + 1
            if position > MAX_ITEMS:
                raise refused("agenda-full", f"an agenda holds at most {MAX_ITEMS} items")
            item = AgendaItem(id=str(uuid.uuid4()), meeting_id=meeting.id, case_id=case_id,
                              position=position, title=title, question=question,
                              proposed_decision=proposal)
            session.add(item)
            invited = _invite(session, meeting, case.case_manager)
            session.flush()
            self._audit(session, actor, meeting, "meeting.item_added", item_id=item.id,
                        case_id=case_id, invited=invited)
            republished = self._republish_if_published(session, actor, meeting)
            return {**_item_view(item), "published": republished}

    def routing(self, actor: Caller, meeting_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            agenda = self._load(session, self._own_meeting(session, actor, meeting_id))
            routed = self._route(agenda)
            return {
                "meeting_id": agenda.meeting.id,
                "version": agenda.meeting.version,
                "participants": agenda.participants,
                "items": [
                    {**_item_view(item), "step": agenda.cases[item.case_id].step,
                     "views": {p: _routed_view(routed[(p, item.case_id)])
                               for p in agenda.participants}}
                    for item in agenda.items
                ],
            }

    def publish(self, actor: Caller, meeting_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            meeting = self._own_meeting(session, actor, meeting_id)
            return self._publish(session, actor, meeting)

    def administered(self, actor: Caller) -> list[dict[str, Any]]:
        """The meetings the actor called as regie, newest first (at most MAX_LISTED)."""
        with transaction(self.session_factory) as session:
            meetings = session.scalars(select(Meeting).where(
                Meeting.regie == actor.partner_id).order_by(
                    Meeting.held_on.desc(), Meeting.id).limit(MAX_LISTED)).all()
            participants: dict[str, list[str]] = {m.id: [] for m in meetings}
            for row in session.scalars(select(MeetingParticipant).where(
                    MeetingParticipant.meeting_id.in_(participants)).order_by(
                        MeetingParticipant.partner)):
                participants[row.meeting_id].append(row.partner)
            return [_meeting_view(m, participants[m.id]) for m in meetings]

    def agendas(self, actor: Caller) -> list[dict[str, Any]]:
        """The agendas published to the actor, newest meeting first, without their items."""
        with transaction(self.session_factory) as session:
            views = session.scalars(select(PublishedView).where(
                PublishedView.partner == actor.partner_id)).all()
            return sorted(({"meeting_id": v.meeting_id, "title": v.view["title"],
                            "date": v.view["date"], "version": v.version,
                            "items": len(v.view["items"])} for v in views),
                          key=lambda agenda: (agenda["date"], agenda["meeting_id"]),
                          reverse=True)

    def agenda(self, actor: Caller, meeting_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            published = session.get(PublishedView, (meeting_id, actor.partner_id)) if (
                UUID_PATTERN.match(meeting_id)) else None
            if published is None:
                raise not_found("agenda", f"no published agenda of meeting {meeting_id!r} "
                                "for you")
            self.audit.append(session, {
                "action": "meeting.agenda_read",
                "actor": actor.actor(),
                "meeting_id": meeting_id, "version": published.version,
                "case_ids": sorted({i["case_id"] for i in published.view["items"]
                                    if "case_id" in i}),
            })
            return published.view

    def record_outcome(self, actor: Caller, meeting_id: str, item_id: str, body: Any
                       ) -> dict[str, Any]:
        reader = BodyReader(body, {"approach", "assigned_partner", "intervention", "priority",
                                   "move_to", "subjects"}, {"approach"})
        approach = reader.required("approach", MAX_INTERVENTION_LENGTH)
        partner = reader.text("assigned_partner", 128, PARTNER_PATTERN)
        intervention = reader.text("intervention", MAX_INTERVENTION_LENGTH)
        priority = reader.text("priority", 16, choices=PRIORITIES) or "normaal"
        move_to = reader.text("move_to", 32, choices=CASE_STEPS)
        named = pseudonym_list(reader, "subjects")
        reader.raise_if_faulty()
        with transaction(self.session_factory) as session:
            item = session.scalars(select(AgendaItem).where(
                AgendaItem.id == item_id, AgendaItem.meeting_id == meeting_id)).first()
            # Case before meeting, the order a case change takes (see case_changed).
            case = None if item is None else self.cases.load(session, item.case_id)
            meeting = self._own_meeting(session, actor, meeting_id)
            if item is None or case is None:
                raise not_found("agenda-item", f"no item {item_id!r} on this agenda")
            if meeting.state != PUBLISHED:
                raise refused("not-published", "outcomes follow a published meeting")
            if item.outcome_recorded_at is not None:
                raise refused("outcome-recorded", "this item's outcome is already recorded")
            subject_ids = self.cases.named_subjects(session, actor, case, named, reader,
                                                    pointer="/subjects")
            if partner is not None:
                if case.step == "weging_kwalificatie":
                    self.cases.apply_move(session, actor, case, "toewijzing_interventie",
                                          approach, settled=False)
                self.cases.apply_assignment(session, actor, case, partner=partner,
                                            intervention=intervention or approach,
                                            priority=priority, subject_ids=subject_ids,
                                            settled=False)
            if move_to is not None:
                self.cases.apply_move(session, actor, case, move_to, approach, settled=False)
            item.outcome_approach, item.outcome_partner = approach, partner
            item.outcome_subject_ids = subject_ids
            item.outcome_recorded_at = self.clock.now()
            self._audit(session, actor, meeting, "meeting.outcome_recorded", item_id=item.id,
                        case_id=case.id, assigned_partner=partner, case_step=case.step,
                        persons=len(subject_ids))
            republished = self._republish_if_published(session, actor, meeting)
            # Then every other upcoming agenda follows the case (this one is current already).
            self.cases.changed(session, actor, case)
            aliases = _aliases(self.cases.subjects(session, [case.id]).get(case.id, []))
            return {**_item_view(item, aliases), "case_step": case.step,
                    "published": republished}

    def case_changed(self, session: Session, actor: Caller, case_id: str) -> None:
        """Republish the agendas of upcoming published meetings that discuss the case.

        Runs in the transaction that changed the case (its row is locked already), so a view
        that must narrow (an intervention declined, a case closed) never lingers.
        """
        meetings = session.scalars(
            select(Meeting).where(
                Meeting.state == PUBLISHED, Meeting.held_on >= self.clock.today(),
                Meeting.id.in_(select(AgendaItem.meeting_id).where(AgendaItem.case_id == case_id)),
            ).with_for_update()
        ).all()
        for meeting in meetings:
            self._publish(session, actor, meeting)

    # --- composing, routing, rendering -----------------------------------------------

    def _load(self, session: Session, meeting: Meeting) -> Agenda:
        participants = sorted(session.scalars(select(MeetingParticipant.partner).where(
            MeetingParticipant.meeting_id == meeting.id)))
        items = list(session.scalars(select(AgendaItem).where(
            AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.position)))
        case_ids = {item.case_id for item in items}
        return Agenda(meeting, participants, items, self.cases.contexts(session, case_ids),
                      self.cases.subjects(session, case_ids))

    def _route(self, agenda: Agenda) -> dict[tuple[str, str], Routed]:
        questions = agenda.questions()
        answers = self.router.route(agenda.meeting.covenant, self.clock.today().isoformat(),
                                    questions.values())
        return {pair: answers[question] for pair, question in questions.items()}

    def _views(self, agenda: Agenda) -> dict[str, dict[str, Any]]:
        routed = self._route(agenda)
        return {p: self._render(agenda, p, routed) for p in agenda.participants}

    def _render(self, agenda: Agenda, participant: str,
                routed: dict[tuple[str, str], Routed]) -> dict[str, Any]:
        meeting = agenda.meeting
        visible: list[dict[str, Any]] = []
        for item in agenda.items:
            view = routed[(participant, item.case_id)].view
            if view == HIDDEN:
                continue
            entry: dict[str, Any] = {"number": len(visible) + 1, "id": item.id,
                                     "title": item.title, "view": view}
            if view in (PSEUDONYMISED, FULL):
                entry.update(self._details(agenda, item, participant, full=view == FULL))
            visible.append(entry)
        return {
            "type": AGENDA_VIEW_KIND,
            "title": f"Agenda casusoverleg {meeting.held_on.isoformat()}",
            "meeting_id": meeting.id,
            "covenant": meeting.covenant,
            "date": meeting.held_on.isoformat(),
            "items": visible,
        }

    def _details(self, agenda: Agenda, item: AgendaItem, participant: str, *, full: bool
                 ) -> dict[str, Any]:
        case = agenda.cases[item.case_id]
        subjects = []
        for subject in agenda.subjects.get(item.case_id, []):
            entry = {"alias": subject.alias, "role": subject.role}
            if full:
                # The participant's own pseudonym: it can join it with its own deliveries.
                entry["pseudonym"] = self.pseudonyms.pseudonym(subject.subject_id, participant)
            subjects.append(entry)
        details: dict[str, Any] = {
            "case_id": case.case_id, "step": case.step, "question": item.question,
            "proposed_decision": item.proposed_decision, "subjects": subjects,
        }
        if item.outcome_recorded_at is not None:
            details["outcome"] = _outcome(item, _aliases(agenda.subjects.get(item.case_id, [])))
        if full:
            details["case_manager"] = case.case_manager
            details["assigned"] = sorted(case.assigned)
        return details

    def _publish(self, session: Session, actor: Caller, meeting: Meeting) -> dict[str, Any]:
        views = self._views(self._load(session, meeting))
        stored = {row.partner: row for row in session.scalars(
            select(PublishedView).where(PublishedView.meeting_id == meeting.id))}
        digests = {partner: _digest(view) for partner, view in views.items()}
        changed = sorted(p for p in views if p not in stored or stored[p].digest != digests[p])
        if not changed and meeting.state == PUBLISHED:
            return {"version": meeting.version, "notified": []}
        meeting.version += 1
        meeting.state = PUBLISHED
        for partner in changed:
            # Each participant counts its own versions: a meeting-wide number would jump when
            # an item hidden from this participant changed, and so betray that it exists.
            row = stored.get(partner) or PublishedView(meeting_id=meeting.id, partner=partner,
                                                       version=0)
            row.version += 1
            payload = {**views[partner], "version": row.version}
            row.digest, row.view = digests[partner], payload
            row.published_at = self.clock.now()
            session.add(row)
            self.outbox.enqueue(
                session, kind=AGENDA_VIEW_KIND, recipient=partner, payload=payload,
                idempotency_key=f"{AGENDA_VIEW_KIND}:{meeting.id}:{partner}:{row.version}",
            )
            # The same view, readable from the participant's inbox.
            kind = AGENDA_PUBLISHED if row.version == 1 else AGENDA_CHANGED
            self.notifier.record(session, recipient=partner, kind=kind, meeting_id=meeting.id,
                                 content={"title": AGENDA_TITLES[kind], "meeting_id": meeting.id,
                                          "version": row.version,
                                          "link": f"/werkruimte/agenda/{meeting.id}",
                                          "agenda": payload})
        session.flush()
        self._audit(session, actor, meeting, "meeting.published", version=meeting.version,
                    notified=changed, unchanged=sorted(set(views) - set(changed)))
        return {"version": meeting.version, "notified": changed}

    def _republish_if_published(self, session: Session, actor: Caller, meeting: Meeting
                                ) -> dict[str, Any] | None:
        return self._publish(session, actor, meeting) if meeting.state == PUBLISHED else None

    # --- helpers ----------------------------------------------------------------------

    def _participants(self, reader: BodyReader, covenant: str) -> list[str]:
        known = bool(covenant) and self.parties.knows(covenant)
        if covenant and not known:
            reader.fail("/covenant", f"unknown covenant {covenant!r}")
        participants: list[str] = []
        for index, partner in enumerate(reader.array("participants", MAX_PARTICIPANTS)):
            pointer = f"/participants/{index}"
            if not isinstance(partner, str) or not PARTNER_PATTERN.match(partner):
                reader.fail(pointer, "must be a partner id")
            elif partner in participants:
                reader.fail(pointer, f"duplicate participant {partner!r}")
            elif known and self.parties.party_role(covenant, partner) is None:
                reader.fail(pointer, f"{partner!r} is no party of {covenant}")
            else:
                participants.append(partner)
        return participants

    def _own_meeting(self, session: Session, actor: Caller, meeting_id: str) -> Meeting:
        # Locked: two publications at once would otherwise both take the same next version.
        meeting = session.get(Meeting, meeting_id, with_for_update=True) if (
            UUID_PATTERN.match(meeting_id)) else None
        if meeting is None or meeting.regie != actor.partner_id:
            raise not_found("meeting", f"no meeting {meeting_id!r} of yours")
        return meeting

    def _audit(self, session: Session, actor: Caller, meeting: Meeting, action: str,
               **details: Any) -> None:
        self.audit.append(session, {
            "action": action,
            "actor": actor.actor(),
            "meeting_id": meeting.id,
            "covenant": meeting.covenant,
            **details,
        })


def _date(reader: BodyReader) -> date | None:
    raw = reader.text("date", 10)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        reader.fail("/date", "must be a date, YYYY-MM-DD")
        return None


def _digest(view: dict[str, Any]) -> str:
    canonical = json.dumps(view, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _routed_view(routed: Routed) -> dict[str, str]:
    return {"view": routed.view, "reason": routed.reason}


def _meeting_view(meeting: Meeting, participants: list[str]) -> dict[str, Any]:
    return {"id": meeting.id, "covenant": meeting.covenant, "date": meeting.held_on.isoformat(),
            "state": meeting.state, "version": meeting.version, "participants": participants}


def _item_view(item: AgendaItem, aliases: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": item.id, "position": item.position, "case_id": item.case_id,
            "title": item.title, "question": item.question,
            "proposed_decision": item.proposed_decision,
            "outcome": None if item.outcome_recorded_at is None else _outcome(
                item, aliases or {})}


def _outcome(item: AgendaItem, aliases: dict[str, str]) -> dict[str, Any]:
    """The outcome, with the persons it concerns by case-local alias (none: the whole case)."""
    return {"approach": item.outcome_approach, "assigned_partner": item.outcome_partner,
            "persons": [aliases[s] for s in item.outcome_subject_ids if s in aliases]}


def _aliases(subjects: list[CaseSubject]) -> dict[str, str]:
    return {subject.subject_id: subject.alias for subject in subjects}


def _invite(session: Session, meeting: Meeting, partner: str) -> str | None:
    """The case manager takes part in every meeting that discusses its case."""
    if session.get(MeetingParticipant, (meeting.id, partner)) is not None:
        return None
    session.add(MeetingParticipant(meeting_id=meeting.id, partner=partner))
    return partner
