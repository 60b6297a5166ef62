"""Rectification (AVG art. 16, notified per art. 19), restriction (art. 18), objection (art. 21).

Each is a workflow of a partner's privacy officer (scope ``rights:write``), audited with the
person's audit pseudonyms only. None of them tells the officer whether the gateway knows the
person: a restriction or an objection is recorded the same for anyone, and a rectification
reports only what it changed in the officer's own partner's exchanges, which that partner knows
already.

* A rectification corrects what the officer's partner sent, nothing else: the sealed copies of
  its own exchanges (what recipients are shown), and in the vault's merged record only values
  that partner had sent. Every recipient of a copy that held an old value is notified through
  the outbox (``subject.rectified``) under its own pseudonym for the person; the corrected
  values are rendered only where that recipient was given the person identified.
* A restriction withholds the person's data from every new exchange (the decision gives the
  reason ``subject-restricted``). Lifting it takes two officers of the partner that placed it
  (four eyes), so one stolen client cannot lift it.
* An objection is recorded and sent through the outbox to the covenant's contact point
  (``subject.objection``), naming the person by that partner's pseudonym; not when the
  contact point's own officer filed it, whose chosen identifiers would otherwise be answered
  with the pseudonym they have there (a re-identification oracle).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Text, bindparam, or_, select
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import Clock
from gateway.db import core, is_uuid, read_only, transaction
from gateway.delivery.interfaces import DeliveredSubject, DeliveryPayload
from gateway.delivery.models import Delivery
from gateway.delivery.stored import SHREDDED, ContentCipher, is_identified
from gateway.exchange.interfaces import SubjectInput
from gateway.identity.interfaces import (
    PERSON_FIELDS,
    Identifiers,
    validate_fields,
    validate_identifiers,
)
from gateway.identity.models import Reidentification
from gateway.identity.normalise import subject_keys
from gateway.identity.services import IdentityVault
from gateway.linkage.models import LinkageAlias
from gateway.linkage.services import linked_subjects
from gateway.outbox.interfaces import WEBHOOK, Rendered
from gateway.outbox.models import OutboxMessage
from gateway.ports import AuditAppender, Caller, PseudonymSource, SubjectShreddedError
from gateway.problems import FieldError, conflict, forbidden, not_found, validation_failed
from gateway.rights.models import (
    ACTIVE,
    LIFT_PENDING,
    LIFTED,
    OBJECTION,
    RECORDED,
    RECTIFICATION,
    RESTRICTION,
    WITHHOLDING,
    RightsRequest,
    RightsSubject,
)

RECTIFIED_KIND = "subject.rectified"
OBJECTION_KIND = "subject.objection"
NOTICE_KINDS = (RECTIFIED_KIND, OBJECTION_KIND)
MAX_NOTICES = 200
#: A person's key fields are never rectified here: a different BSN is a different person.
RECTIFIABLE_FIELDS = PERSON_FIELDS - {"bsn"}
MAX_GROUNDS_LENGTH = 2000
#: A restriction's sealed details: the subject ids its officer's identifiers name, and those of
#: them its partner had sent itself (whose confirmed links it may follow, see _holding).
NAMED = "named"
SENT = "sent"


_CANONICAL_OF_IDS = select(LinkageAlias.canonical_subject_id).where(
    LinkageAlias.subject_id.in_(bindparam("ids", expanding=True)))
# Built once (see gateway.db): the restricted subjects among the ids, their canonical subjects
# and the other aliases of those.
_RESTRICTED = (
    select(RightsSubject.subject_id)
    .join(RightsRequest, RightsRequest.id == RightsSubject.request_id)
    .where(RightsRequest.kind == RESTRICTION, RightsRequest.status.in_(WITHHOLDING),
           or_(RightsSubject.subject_id.in_(bindparam("ids", expanding=True)),
               RightsSubject.subject_id.in_(_CANONICAL_OF_IDS),
               RightsSubject.subject_id.in_(select(LinkageAlias.subject_id).where(or_(
                   LinkageAlias.canonical_subject_id.in_(_CANONICAL_OF_IDS),
                   LinkageAlias.canonical_subject_id.in_(bindparam("ids", expanding=True))))))))


@dataclass(frozen=True)
class _OwnKeys:
    """What a partner's own restriction holds its own exchanges to (see
    :meth:`SubjectRights._holding`)."""

    named: set[str]
    linked: set[str]


class OutboxWriter(Protocol):
    def enqueue(
        self, session: Session, *, kind: str, recipient: str, payload: dict[str, Any],
        idempotency_key: str,
    ) -> str: ...


@dataclass(frozen=True)
class LiftOutcome:
    status: int
    body: dict[str, Any]


@dataclass
class SubjectRights:
    session_factory: sessionmaker[Session]
    vault: IdentityVault
    pseudonyms: PseudonymSource
    outbox: OutboxWriter
    audit: AuditAppender
    content: ContentCipher
    # The covenant documents in force (id -> document), for parties and contact points.
    covenants: Callable[[], Mapping[str, Any]]
    clock: Clock

    # --- restriction -------------------------------------------------------------------

    def restrict(self, officer: Caller, body: object) -> dict[str, Any]:
        identifiers = parse_body(body, {"identifiers"}, self.clock.today())[0]
        with transaction(self.session_factory) as session:
            subject_ids = self.person(session, identifiers)
            named = self.vault.subject_ids_for(identifiers)
            sent = _sent_by(session, officer.partner_id, named)
            request = self._record(session, officer, RESTRICTION, identifiers, subject_ids,
                                   status=ACTIVE,
                                   details={NAMED: sorted(named), SENT: sorted(sent)})
            self.audit.append(session, {
                "action": "rights.restricted", "actor": officer.actor(),
                "request_id": request.id, **self._named(subject_ids, identifiers)})
            return _restriction_view(request)

    def lift(self, officer: Caller, request_id: str) -> LiftOutcome:
        """First officer: ``lift-pending`` (202); a second client of the same partner: lifted."""
        with transaction(self.session_factory) as session:
            request = self._own(session, officer, request_id, RESTRICTION)
            if request.status == LIFTED:
                raise conflict("already-lifted", "this restriction was lifted already")
            if request.status == ACTIVE:
                request.status, request.lift_requested_by = LIFT_PENDING, officer.client_id
                self._audit_lift(session, officer, request, "rights.lift_requested")
                return LiftOutcome(202, _restriction_view(request))
            if request.lift_requested_by == officer.client_id:
                raise conflict("four-eyes", "a second officer's client must approve the lifting")
            request.status, request.lifted_by = LIFTED, officer.client_id
            request.lifted_at = self.clock.now()
            self._audit_lift(session, officer, request, "rights.lifted")
            return LiftOutcome(200, _restriction_view(request))

    def restrictions(self, officer: Caller) -> list[dict[str, Any]]:
        """The restrictions of the officer's partner that still withhold, oldest first; each
        says whether this officer asked to lift it (then another officer must approve)."""
        with read_only(self.session_factory) as session:
            rows = session.scalars(select(RightsRequest).where(
                RightsRequest.kind == RESTRICTION, RightsRequest.partner == officer.partner_id,
                RightsRequest.status.in_(WITHHOLDING)).order_by(RightsRequest.created_at,
                                                                 RightsRequest.id)).all()
            return [{**_restriction_view(row),
                     "lift_requested_by_you": row.lift_requested_by == officer.client_id}
                    for row in rows]

    def withheld(self, subjects: Sequence[SubjectInput], sender: str) -> frozenset[str]:
        """The refs of the exchange's persons whose processing is restricted.

        On every exchange's path: one prepared statement finds whether any subject key of
        these persons, or a subject linked to one, is restricted; only then (rarely) is each
        person resolved on their own, and ``sender``'s own restrictions are held to the
        subject keys its officer named (see :meth:`_holding`).
        """
        ids = {s.ref: self.vault.subject_ids_for(cast(Identifiers, s.identifiers))
               for s in subjects}
        wanted = sorted(set().union(*ids.values())) if ids else []
        if not wanted:
            return frozenset()
        with read_only(self.session_factory) as session:
            restricted = set(core(session).scalars(_RESTRICTED, {"ids": wanted}))
            if not restricted:
                return frozenset()
            hits = {ref: linked_subjects(session, own) & restricted for ref, own in ids.items()}
            held = self._holding(session, sender, set().union(*hits.values()))
            return frozenset(ref for ref, found in hits.items() if any(
                subject_id in found and (keys is None or subject_id in keys.linked
                                         or bool(keys.named & ids[ref]))
                for subject_id, keys in held))

    def _holding(self, session: Session, sender: str, restricted: set[str]
                 ) -> list[tuple[str, _OwnKeys | None]]:
        """Each restricted subject id among ``restricted`` that may withhold ``sender``'s
        exchanges, with what it is held to: None (every key and link of the person) for
        another partner's restriction, which also covers the subject keys found in vault
        records other partners sent (a BSN beside a name and birth date).

        Against the restricting partner's own exchanges it holds only for a person sent under
        a key its officer named, or linked to a subject that partner had sent itself. Else
        it would restrict a guessed BSN, send a person it knows by name alone, and read from
        the decision whether the guess is theirs: through the vault's record, or through a
        link the RIEC confirmed between the subject another partner sent with that BSN and
        the one it sent by name.
        """
        holding: list[tuple[str, _OwnKeys | None]] = []
        for subject_id, request_id, partner, sealed in session.execute(
                select(RightsSubject.subject_id, RightsRequest.id, RightsRequest.partner,
                       RightsRequest.sealed)
                .join(RightsRequest, RightsRequest.id == RightsSubject.request_id)
                .where(RightsRequest.kind == RESTRICTION, RightsRequest.status.in_(WITHHOLDING),
                       RightsSubject.subject_id.in_(sorted(restricted)))):
            if partner != sender or sealed is None:
                holding.append((subject_id, None))
                continue
            details = self.content.open(sealed, request_id)
            # A restriction from before SENT was recorded followed every named key's links.
            named = set(details[NAMED])
            holding.append((subject_id, _OwnKeys(named, set(details.get(SENT, named)))))
        return holding

    # --- rectification -----------------------------------------------------------------

    def rectify(self, officer: Caller, body: object) -> dict[str, Any]:
        identifiers, corrections = parse_body(body, {"identifiers", "corrections"},
                                              self.clock.today())
        rectification_id = str(uuid.uuid4())
        with transaction(self.session_factory) as session:
            subject_ids = self.person(session, identifiers)
            corrected = self._correct_copies(session, officer, subject_ids,
                                             identifiers=identifiers, corrections=corrections,
                                             rectification_id=rectification_id)
            replaced: dict[str, set[str]] = {}
            for _delivery, _subject, old in corrected:
                for name in corrections:
                    if name in old:
                        replaced.setdefault(name, set()).add(old[name])  # type: ignore[literal-required]  # names checked against Identifiers' keys
            vault_fields = sorted({name for subject_id in {s["sent"]["subject_id"]
                                                           for _, s, _ in corrected}
                                   for name in self.vault.rectify(session, subject_id,
                                                                  corrections, replaced)})
            # The corrected values live only in the vault (the re-sealed copies and the
            # record), under the person's own key: shredding the person erases them too.
            request = self._record(session, officer, RECTIFICATION, identifiers, subject_ids,
                                   status=RECORDED, request_id=rectification_id)
            notified = sorted({delivery.recipient for delivery, _, _ in corrected})
            self.audit.append(session, {
                "action": "rights.rectified", "actor": officer.actor(),
                "request_id": request.id, **self._named(subject_ids, identifiers),
                "fields": sorted(corrections), "vault_fields": vault_fields,
                "delivery_ids": sorted({d.id for d, _, _ in corrected}),
                "notified": notified,
            })
            return {"id": request.id, "status": RECORDED, "fields": sorted(corrections),
                    "corrected_deliveries": len({d.id for d, _, _ in corrected}),
                    "notified": notified, "created_at": request.created_at.isoformat()}

    def _correct_copies(
        self, session: Session, officer: Caller, subject_ids: set[str], *,
        identifiers: Identifiers, corrections: Identifiers, rectification_id: str,
    ) -> list[tuple[Delivery, DeliveredSubject, Identifiers]]:
        """Re-seal every copy the officer's partner sent of the person that holds an old value,
        and notify its recipient; (delivery, person as delivered, old copy) of each.

        Only copies sharing a subject key (BSN, or name and birth date) with ``identifiers``:
        the person's other subject ids come from what other partners sent (a BSN beside a name
        and birth date), so touching a copy found only through them would tell the officer,
        per guessed BSN, that it is the one of a person the partner sent by name alone.
        """
        asked = subject_keys(identifiers)
        corrected = []
        deliveries = session.scalars(
            select(Delivery).where(Delivery.sender == officer.partner_id,
                                   _naming(subject_ids))
            .order_by(Delivery.seq).with_for_update()).all()
        for delivery in deliveries:
            subjects = [dict(s) for s in delivery.payload["subjects"]]
            changed = False
            for subject in subjects:
                person = cast(DeliveredSubject, subject)
                if "sent" not in person or person["sent"]["subject_id"] not in subject_ids:
                    continue
                try:
                    old = self.vault.reveal_sent(session, delivery.exchange_id, person["sent"])
                except SubjectShreddedError:
                    continue
                if not subject_keys(old) & asked:
                    continue
                fields = sorted(name for name, value in corrections.items()
                                if name in old and old[name] != value)  # type: ignore[literal-required]  # names checked against Identifiers' keys
                if not fields:
                    continue
                new = cast(Identifiers, {**old, **{name: corrections[name]  # type: ignore[literal-required]  # as above
                                                    for name in fields}})
                person["sent"] = self.vault.reseal_sent(session, person["sent"],
                                                        delivery.exchange_id, new)
                changed = True
                corrected.append((delivery, person, old))
                self._notify_rectified(session, delivery, person, fields, rectification_id)
            if changed:
                # A new dict: the JSON column sees the change only on assignment.
                delivery.payload = cast(DeliveryPayload, {**delivery.payload,
                                                          "subjects": subjects})
        session.flush()
        return corrected

    def _notify_rectified(self, session: Session, delivery: Delivery, person: DeliveredSubject,
                          fields: list[str], rectification_id: str) -> None:
        self.outbox.enqueue(
            session, kind=RECTIFIED_KIND, recipient=delivery.recipient,
            payload={"rectification_id": rectification_id, "delivery_id": delivery.id,
                     "exchange_id": delivery.exchange_id, "ref": person["ref"],
                     "pseudonym": person["pseudonym"], "fields": fields},
            idempotency_key=f"{RECTIFIED_KIND}:{rectification_id}:{delivery.id}:{person['ref']}",
        )

    # --- objection ---------------------------------------------------------------------

    def object(self, officer: Caller, body: object) -> dict[str, Any]:
        identifiers, covenant, grounds = parse_objection(body, self.clock.today())
        document = self.covenants().get(covenant)
        if document is None:
            raise validation_failed([FieldError("/covenant", f"unknown covenant {covenant!r}")])
        parties = {p.get("partner") for p in document.get("parties", [])}
        if officer.partner_id not in parties:
            raise forbidden("not-a-party", f"{officer.partner_id} is no party of {covenant}")
        contact = document["contact_point"]
        with transaction(self.session_factory) as session:
            subject_ids = self.person(session, identifiers)
            request = self._record(session, officer, OBJECTION, identifiers, subject_ids,
                                   status=RECORDED, covenant=covenant,
                                   details={"grounds": grounds})
            payload = {"objection_id": request.id, "covenant": covenant,
                       "from": officer.partner_id, "contact_point": contact["email"],
                       "grounds": grounds, "recorded_at": request.created_at.isoformat()}
            if officer.partner_id != contact["partner"]:
                # The contact point's own officer chose the identifiers: their pseudonym in
                # its notice would re-identify any pseudonym it holds, guess by guess.
                canonical = min(linked_subjects(session,
                                                {self.vault.subject_id_for(identifiers)}))
                payload["pseudonym"] = self.pseudonyms.pseudonym(canonical, contact["partner"])
            self.outbox.enqueue(session, kind=OBJECTION_KIND, recipient=contact["partner"],
                                payload=payload, idempotency_key=f"{OBJECTION_KIND}:{request.id}")
            self.audit.append(session, {
                "action": "rights.objection_recorded", "actor": officer.actor(),
                "request_id": request.id, "covenant": covenant,
                "contact_point": contact["partner"], **self._named(subject_ids, identifiers)})
            return {"id": request.id, "status": RECORDED, "covenant": covenant,
                    "contact_point": contact["partner"],
                    "created_at": request.created_at.isoformat()}

    # --- the recipients' side ----------------------------------------------------------

    def notices(self, reader: Caller) -> list[dict[str, Any]]:
        """The latest rectifications and objections sent to the reader's partner, newest last.

        A rectification carries the corrected values only where the recipient was given the
        person identified, by the delivery or by a re-identification the policy released,
        read from the re-sealed copy of that delivery; every read is audited with the
        identities it disclosed.
        """
        with transaction(self.session_factory) as session:
            rows = list(reversed(session.scalars(
                select(OutboxMessage).where(OutboxMessage.recipient == reader.partner_id,
                                            OutboxMessage.kind.in_(NOTICE_KINDS))
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .limit(MAX_NOTICES)).all()))
            disclosed: set[str] = set()
            views = [self._notice(session, row, disclosed) for row in rows]
            if views:
                self.audit.append(session, {
                    "action": "inbox.notices_read", "actor": reader.actor(),
                    "message_ids": [row.id for row in rows],
                    "identities_disclosed": sorted(disclosed)})
            return views

    def _notice(self, session: Session, row: OutboxMessage, disclosed: set[str]
                ) -> dict[str, Any]:
        payload: dict[str, Any] = self.content.open(row.payload, row.id)
        view = {"id": row.id, "type": row.kind, "created_at": row.created_at.isoformat(),
                **payload}
        if row.kind != RECTIFIED_KIND:
            return view
        delivery = session.scalars(select(Delivery).where(
            Delivery.id == payload["delivery_id"], Delivery.recipient == row.recipient)).first()
        person = next((s for s in (delivery.payload["subjects"] if delivery else [])
                       if s["ref"] == payload["ref"]), None)
        if delivery is None or person is None or "sent" not in person or not (
                is_identified(person) or _released(session, row.recipient, person["pseudonym"])):
            return view
        try:
            sent = self.vault.reveal_sent(session, delivery.exchange_id, person["sent"])
        except SubjectShreddedError:
            return {**view, "identity": SHREDDED}
        disclosed.add(self.vault.audit_pseudonym(person["subject_id"]))
        return {**view, "identifiers": {name: sent[name] for name in payload["fields"]  # type: ignore[literal-required]  # names of fields the copy holds
                                        if name in sent}}

    # --- shared ------------------------------------------------------------------------

    def person(self, session: Session, identifiers: Identifiers) -> set[str]:
        """Every subject id of the person: all their subject keys, vault aliases and links."""
        return linked_subjects(session, self.vault.subject_ids_naming(session, identifiers))

    def _named(self, subject_ids: Iterable[str], identifiers: Identifiers) -> dict[str, Any]:
        """How the audit entry names the person: audit pseudonyms only."""
        primary = self.vault.subject_id_for(identifiers)
        return {"audit_pseudonym": self.vault.audit_pseudonym(primary),
                "audit_pseudonyms": sorted({self.vault.audit_pseudonym(s) for s in subject_ids})}

    def _record(
        self, session: Session, officer: Caller, kind: str, identifiers: Identifiers,
        subject_ids: set[str], *, status: str, covenant: str | None = None,
        request_id: str | None = None, details: dict[str, Any] | None = None,
    ) -> RightsRequest:
        request_id = request_id or str(uuid.uuid4())
        request = RightsRequest(
            id=request_id, kind=kind, partner=officer.partner_id, client_id=officer.client_id,
            covenant=covenant, status=status, created_at=self.clock.now(),
            audit_pseudonym=self.vault.audit_pseudonym(self.vault.subject_id_for(identifiers)),
            sealed=None if details is None else self.content.seal(details, request_id),
        )
        session.add(request)
        session.flush()
        session.add_all(RightsSubject(request_id=request_id, subject_id=s) for s in subject_ids)
        session.flush()
        return request

    def _own(self, session: Session, officer: Caller, request_id: str, kind: str
             ) -> RightsRequest:
        request = session.get(RightsRequest, request_id, with_for_update=True) if is_uuid(
            request_id) else None
        if request is None or request.kind != kind or request.partner != officer.partner_id:
            # Another partner's request is as absent as one that never existed.
            raise not_found(kind, f"no {kind} {request_id!r} of yours")
        return request

    def _audit_lift(self, session: Session, officer: Caller, request: RightsRequest,
                    action: str) -> None:
        self.audit.append(session, {"action": action, "actor": officer.actor(),
                                    "request_id": request.id,
                                    "audit_pseudonym": request.audit_pseudonym})


class NoticeRenderer:
    """A rights notice on a push channel: whole on the signed webhook; an e-mail only says a
    notice is waiting (an objection's grounds are free text that may name the person, and
    e-mails never carry identifying text)."""

    def render(
        self, session: Session, recipient: str, payload: dict[str, Any], channel: str
    ) -> Rendered:
        kind = RECTIFIED_KIND if "rectification_id" in payload else OBJECTION_KIND
        if channel == WEBHOOK:
            return Rendered(subject=f"Ketenpoort: {kind}", body={"type": kind, **payload})
        return Rendered(subject=f"Ketenpoort: {kind}", body={
            "type": kind, "pseudonym": payload.get("pseudonym"),
            "read_at": "GET /v1/inbox/notices"})


def parse_body(body: object, fields: set[str], today: date) -> tuple[Identifiers, Identifiers]:
    """``identifiers`` (and ``corrections`` when asked for) checked; 422 with pointers else."""
    if not isinstance(body, dict):
        raise validation_failed([FieldError("", "must be an object")])
    errors = [FieldError(f"/{name}", "unknown field") for name in sorted(body.keys() - fields)]
    for name in sorted(fields - body.keys()):
        errors.append(FieldError(f"/{name}", "required"))
    if "identifiers" in body:
        errors += validate_identifiers(body["identifiers"], "/identifiers", today=today)
    if "corrections" in fields and "corrections" in body:
        errors += _correction_errors(body["corrections"], today)
    if errors:
        raise validation_failed(errors)
    return (cast(Identifiers, body["identifiers"]),
            cast(Identifiers, body.get("corrections", {})))


def _correction_errors(raw: object, today: date) -> list[FieldError]:
    if not isinstance(raw, dict) or not raw:
        return [FieldError("/corrections", "must be an object naming at least one field")]
    errors = [FieldError(f"/corrections/{name}", "not a field that can be rectified here")
              for name in sorted(map(str, raw)) if name not in RECTIFIABLE_FIELDS]
    if errors:
        return errors
    return validate_fields(raw, "/corrections", today=today)


def parse_objection(body: object, today: date) -> tuple[Identifiers, str, str]:
    if not isinstance(body, dict):
        raise validation_failed([FieldError("", "must be an object")])
    known = {"identifiers", "covenant", "grounds"}
    errors = [FieldError(f"/{name}", "unknown field") for name in sorted(body.keys() - known)]
    errors += [FieldError(f"/{name}", "required") for name in sorted(known - body.keys())]
    if "identifiers" in body:
        errors += validate_identifiers(body["identifiers"], "/identifiers", today=today)
    for name, limit in (("covenant", 128), ("grounds", MAX_GROUNDS_LENGTH)):
        value = body.get(name)
        if name in body and not (isinstance(value, str) and value.strip() != ""
                                 and len(value) <= limit):
            errors.append(FieldError(f"/{name}", f"a non-empty string of at most {limit}"))
    if errors:
        raise validation_failed(errors)
    return cast(Identifiers, body["identifiers"]), body["covenant"], body["grounds"]


def _naming(subject_ids: Iterable[str]) -> ColumnElement[bool]:
    """Deliveries whose payload may name one of the subject ids (as JSON strings): ``LIKE``
    narrows, the caller decides from the payload."""
    return or_(*(cast_(Delivery.payload, Text).contains(f'"{s}"', autoescape=True)
                 for s in sorted(subject_ids)))


def _sent_by(session: Session, partner: str, subject_ids: set[str]) -> set[str]:
    """The subject ids among ``subject_ids`` that ``partner`` itself sent a person under.

    The key of the copy as sent, not the delivery's ``subject_id``: that is the canonical
    subject, which after a link may be the one another partner sent.
    """
    found: set[str] = set()
    for payload in session.scalars(select(Delivery.payload).where(
            Delivery.sender == partner, _naming(subject_ids))):
        found.update(subject["sent"]["subject_id"] for subject in payload["subjects"]
                     if "sent" in subject)
    return found & subject_ids


def _released(session: Session, partner: str, pseudonym: str) -> bool:
    """Whether ``partner`` was released the identity behind its ``pseudonym``."""
    return session.scalar(select(Reidentification.id).where(
        Reidentification.partner == partner, Reidentification.pseudonym == pseudonym,
        Reidentification.status == "released").limit(1)) is not None


def _restriction_view(request: RightsRequest) -> dict[str, Any]:
    return {"id": request.id, "status": request.status,
            "created_at": request.created_at.isoformat(),
            "lifted_at": request.lifted_at.isoformat() if request.lifted_at else None}
