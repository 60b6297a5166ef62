"""The exchange room: validate, decide per recipient, pseudonymise, audit and store, atomically.

Fail closed: the audit entry and every delivery are written in one transaction with the
exchange record. If the audit write fails, the whole exchange fails and nothing is delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from audit.interfaces import AuditRecord
from gateway.clock import Clock
from gateway.db import GroupCommitter, core, insert_rows, read_only, transaction
from gateway.delivery.interfaces import DeliveredSubject, DeliveryPayload
from gateway.delivery.models import Delivery
from gateway.delivery.stored import ContentCipher
from gateway.exchange.interfaces import (
    UNKNOWN_EXPLOITATION_FORM,
    ExchangeOutcome,
    ExchangeRequest,
    ItemInput,
    SubjectInput,
)
from gateway.exchange.models import Exchange
from gateway.exchange.validation import (
    CaseLookup,
    CovenantCatalogue,
    parse_exchange,
    schema_pointer,
)
from gateway.identity.interfaces import SealedSubject
from gateway.linkage.encoding import Encoding
from gateway.policy.interfaces import IDENTITY_LEVELS, Decision, DecisionRequest, Reason
from gateway.ports import AuditAppender, Caller, PseudonymSource
from gateway.problems import Problem, conflict, forbidden, not_found, unavailable

MAX_IDEMPOTENCY_KEY_LENGTH = 255
#: The decision's reason code when a restricted person's data are withheld (AVG art. 18).
RESTRICTED_REASON = "subject-restricted"
DECISION_FIELDS = ("recipient", "allowed", "categories_delivered", "categories_withheld",
                   "identity", "subject_identities", "reasons", "grants", "covenant_version")


class DecisionMaker(Protocol):
    def decide(self, request: DecisionRequest) -> Decision: ...


class Vault(Protocol):
    def seal(self, identifiers: Any) -> SealedSubject: ...

    def store(self, session: Session, sealed: SealedSubject) -> bool: ...

    def seal_sent(
        self, session: Session, sealed: SealedSubject, exchange_id: str, *, new_subject: bool
    ) -> dict[str, str]: ...

    def audit_pseudonym(self, subject_id: str) -> str: ...



class SubjectLinker(Protocol):
    def encode(self, identifiers: Any) -> Encoding | None: ...

    def index(
        self, session: Session, subject_id: str, encoding: Encoding | None, *, new_subject: bool,
        covenant: str,
    ) -> str:
        """Record the subject (exchanged under ``covenant``) for fuzzy linkage; return the
        canonical subject id."""



class AuditRecorder(AuditAppender, Protocol):
    def record(self, event: dict[str, Any]) -> AuditRecord: ...

    def write(self, session: Session, record: AuditRecord) -> str: ...


class OutboxWriter(Protocol):
    def enqueue(
        self, session: Session, *, kind: str, recipient: str, payload: dict[str, Any],
        idempotency_key: str,
    ) -> str: ...


class Restrictions(Protocol):
    def withheld(self, subjects: Sequence[SubjectInput], sender: str) -> frozenset[str]:
        """The refs of the persons whose processing is restricted (AVG art. 18), as the
        restrictions hold for partner ``sender``."""


class AuditHealth(Protocol):
    def check(self) -> None:
        """Raise a 503 problem when the audit log has not been sealed for too long."""



@dataclass(frozen=True)
class _PreparedSubject:
    sealed: SealedSubject
    encoding: Encoding | None


@dataclass(frozen=True)
class _Persons:
    """The stored persons of an exchange by ref: canonical subject ids and sealed sent copies."""

    subject_ids: dict[str, str]
    sent: dict[str, dict[str, str]]


@dataclass(frozen=True)
class _Prepared:
    """What an exchange writes, computed before its transaction begins."""

    exchange_id: str
    decisions: list[Decision]
    digest: str
    idempotency_key: str | None
    subjects: dict[str, _PreparedSubject]
    audit: AuditRecord


@dataclass
class ExchangeService:
    session_factory: sessionmaker[Session]
    catalogue: CovenantCatalogue
    policy: DecisionMaker
    vault: Vault
    pseudonyms: PseudonymSource
    audit: AuditRecorder
    digest_key: bytes
    clock: Clock
    linkage: SubjectLinker
    outbox: OutboxWriter
    audit_gate: AuditHealth
    cases: CaseLookup
    content: ContentCipher
    committer: GroupCommitter
    restrictions: Restrictions

    def submit(
        self, sender: Caller, body: dict[str, Any], idempotency_key: str | None
    ) -> ExchangeOutcome:
        """Decide, deliver and audit; every 4xx problem raised is audited as a rejection.

        A 503 (audit log or storage unavailable) is no judgement on the request and is not.
        """
        try:
            return self._submit(sender, body, idempotency_key)
        except Problem as problem:
            if 400 <= problem.status < 500:
                self.record_rejection(sender, problem)
            raise

    def _submit(
        self, sender: Caller, body: dict[str, Any], idempotency_key: str | None
    ) -> ExchangeOutcome:
        _check_idempotency_key(idempotency_key)
        digest = self._digest(body)
        if idempotency_key is not None:
            with read_only(self.session_factory) as session:
                replay = _replay(session, sender, idempotency_key, digest)
            if replay is not None:
                return replay
        # Fail closed: while the audit log cannot be sealed, no new exchange is accepted.
        self.audit_gate.check()
        request = parse_exchange(body, self.catalogue, self.cases,
                                 sender=sender.partner_id, today=self.clock.today())
        try:
            return self._decide_and_store(sender, request, idempotency_key, digest)
        except OperationalError as exc:
            # Fail closed: the audit entry and the deliveries share this transaction, so
            # nothing was delivered. Tell the sender to retry rather than pretend.
            raise unavailable(
                "storage-unavailable",
                "the exchange could not be recorded and audited; nothing was delivered, retry",
            ) from exc

    def _decide_and_store(
        self, sender: Caller, request: ExchangeRequest, idempotency_key: str | None, digest: str
    ) -> ExchangeOutcome:
        # A restricted person's subject and items leave the request before anyone decides.
        restricted = self.restrictions.withheld(request.subjects, sender.partner_id)
        request, restricted_categories = _without_restricted(request, restricted)
        named = _categories_by_subject(request)
        decisions = [_restricted_decision(self._decide(sender, request, r, named), restricted,
                                          restricted_categories)
                     for r in request.recipients]
        if any(decision.engine_failed for decision in decisions):
            # No judgement on the request: refusing it (403) would tell the sender "never";
            # nothing is decided, stored or audited, and the same request may come again.
            raise unavailable("policy-unavailable", "the policy engine gave no decision; "
                              "nothing was decided or delivered, retry")
        # Everything that needs no database happens before the transaction begins: on SQLite
        # the transaction holds the one write lock, so its length bounds the throughput.
        exchange_id = str(uuid.uuid4())
        subjects = self._prepare_subjects(request, decisions)
        prepared = _Prepared(
            exchange_id=exchange_id, decisions=decisions, digest=digest,
            idempotency_key=idempotency_key,
            subjects=subjects,
            audit=self.audit.record(
                self._audit_event(sender, request, decisions, exchange_id, subjects,
                                  named=dict(named))),
        )
        try:
            # Batched with concurrent exchanges into one durable commit, each under its own
            # savepoint: its rows and its audit entry still commit or roll back together.
            return self.committer.run(
                lambda session: self._store(session, sender, request, prepared))
        except IntegrityError:
            # A concurrent retry with the same key won the race; answer as it was answered.
            if idempotency_key is None:
                raise
            with read_only(self.session_factory) as session:
                replay = _replay(session, sender, idempotency_key, digest)
            if replay is None:
                raise
            return replay

    def _decide(
        self, sender: Caller, request: ExchangeRequest, recipient: str,
        named: tuple[tuple[str, tuple[str, ...]], ...],
    ) -> Decision:
        return self.policy.decide(
            DecisionRequest(
                covenant=request.covenant,
                purpose=request.purpose,
                process_step=request.process_step,
                provider=sender.partner_id,
                recipient=recipient,
                categories=request.categories,
                today=self.clock.today().isoformat(),
                recipient_assigned=recipient in request.assigned_recipients,
                recipient_case_manager=recipient == request.case_manager,
                subject_categories=named,
                exploitation_form=request.exploitation_form,
            )
        )

    def _store(
        self, session: Session, sender: Caller, request: ExchangeRequest, prepared: _Prepared
    ) -> ExchangeOutcome:
        subject_ids, sent = {}, {}
        for ref, subject in prepared.subjects.items():
            new_subject = self.vault.store(session, subject.sealed)
            subject_ids[ref] = self.linkage.index(
                session, subject.sealed.subject_id, subject.encoding, new_subject=new_subject,
                covenant=request.covenant)
            sent[ref] = self.vault.seal_sent(session, subject.sealed, prepared.exchange_id,
                                             new_subject=new_subject)
        event_id = self.audit.write(session, prepared.audit)
        decisions = prepared.decisions
        allowed = [d for d in decisions if d.allowed]
        outcome = _outcome(prepared.exchange_id, decisions, event_id)
        insert_rows(session, Exchange, [{
            "id": prepared.exchange_id, "sender": sender.partner_id,
            "client_id": sender.client_id, "covenant": request.covenant,
            "covenant_version": _covenant_version(decisions), "purpose": request.purpose,
            "process_step": request.process_step, "case_id": request.case_id,
            "exploitation_form": request.exploitation_form,
            "status": "delivered" if allowed else "refused",
            "idempotency_key": prepared.idempotency_key, "request_digest": prepared.digest,
            "response_status": outcome.status, "response_body": outcome.body,
            "audit_event_id": event_id, "created_at": self.clock.now(),
        }], batched=True)
        deliveries = [self._delivery(prepared.exchange_id, sender, request, decision,
                                     _Persons(subject_ids, sent))
                      for decision in allowed]
        insert_rows(session, Delivery, deliveries, batched=True)
        for delivery in deliveries:
            # Pushed to the recipient's channels after commit; the row holds only the id.
            self.outbox.enqueue(
                session, kind="exchange.delivery", recipient=delivery["recipient"],
                payload={"delivery_id": delivery["id"]},
                idempotency_key=f"exchange.delivery:{delivery['id']}",
            )
        return outcome

    def _prepare_subjects(
        self, request: ExchangeRequest, decisions: list[Decision]
    ) -> dict[str, _PreparedSubject]:
        """The subjects some recipient receives as a person (pseudonymised or identified),
        sealed and encoded; nobody else is registered.

        Each is pseudonymised under its canonical id after confirmed linkage, so pseudonyms
        follow; what a recipient is shown as identity is the sealed copy of what was sent.
        """
        needed = {ref for d in decisions if d.allowed
                  for ref, level in d.subject_identities.items() if level != "none"}
        return {
            s.ref: _PreparedSubject(self.vault.seal(s.identifiers),
                                    self.linkage.encode(s.identifiers))
            for s in request.subjects
            if s.ref in needed
        }

    def _delivery(
        self, exchange_id: str, sender: Caller, request: ExchangeRequest,
        decision: Decision, persons: _Persons,
    ) -> dict[str, Any]:
        """The delivery row for one allowed recipient.

        Each person is delivered at their own level (``decision.subject_identities``); a person
        at ``none`` is not even pseudonymised: their items reach the recipient without a subject.
        """
        levels = {ref: level for ref, level in decision.subject_identities.items()
                  if level != "none"}
        items = [i if i.subject_ref in levels else ItemInput(i.category, None, i.content)
                 for i in request.items if i.category in decision.categories_delivered]
        subjects: list[DeliveredSubject] = [
            {
                "ref": s.ref,
                "kind": s.kind,
                "confidence": s.confidence,
                "role": s.role,
                "identity": levels[s.ref],
                "pseudonym": self.pseudonyms.pseudonym(persons.subject_ids[s.ref],
                                                       decision.recipient),
                "subject_id": persons.subject_ids[s.ref],
                "sent": persons.sent[s.ref],
            }
            for s in request.subjects
            if s.ref in levels
        ]
        delivery_id = str(uuid.uuid4())
        # Item contents are sealed at rest, opened only when served to this recipient.
        profile = self.catalogue.partner(sender.partner_id)
        payload: DeliveryPayload = {
            "transaction_id": sender.transaction_id,
            "sender_oin": None if profile is None else profile.oin,
            "covenant": request.covenant,
            "covenant_version": decision.covenant_version,
            "purpose": request.purpose,
            "process_step": request.process_step,
            "case_id": request.case_id,
            "exploitation_form": request.exploitation_form,
            "subjects": subjects,
            "items": [{"category": i.category, "subject_ref": i.subject_ref} for i in items],
            "sealed_content": self.content.seal([i.content for i in items], delivery_id),
        }
        return {
            "id": delivery_id, "exchange_id": exchange_id, "sender": sender.partner_id,
            "recipient": decision.recipient,
            "identity": strongest_level(levels[s["ref"]] for s in subjects), "payload": payload,
        }

    def _audit_event(
        self, sender: Caller, request: ExchangeRequest, decisions: list[Decision],
        exchange_id: str, accepted: dict[str, _PreparedSubject], *,
        named: dict[str, tuple[str, ...]],
    ) -> dict[str, Any]:
        """The entry of a decided exchange.

        Only subjects some recipient receives (``accepted``) are named, by audit pseudonym of
        their vault id, with their kind; the others, and everyone in a refused exchange, are
        counted. The gateway never took them in, and naming them would let a sender learn the
        audit pseudonym of anyone whose BSN it knows (see :mod:`gateway.auditing.projection`).
        An address or KvK number is named the same way, never in clear.
        """
        allowed = any(d.allowed for d in decisions)
        return {
            "action": "exchange.delivered" if allowed else "exchange.refused",
            "actor": sender.actor(),
            "transaction_id": sender.transaction_id,
            "exchange_id": exchange_id,
            "covenant": request.covenant,
            "covenant_version": _covenant_version(decisions),
            "purpose": request.purpose,
            "process_step": request.process_step,
            "case_id": request.case_id,
            "exploitation_form": request.exploitation_form,
            "categories": list(request.categories),
            # Per person the categories of the items about them, so a subject access report
            # lists what was exchanged about this person, not about others in the exchange.
            "subjects": [
                {"kind": s.kind, "role": s.role,
                 "audit_pseudonym": self.vault.audit_pseudonym(
                     accepted[s.ref].sealed.subject_id),
                 "categories": list(named.get(s.ref, ()))}
                for s in request.subjects if s.ref in accepted
            ],
            "subjects_not_accepted": sum(1 for s in request.subjects if s.ref not in accepted),
            **_restricted_count(decisions),
            "recipients": list(request.recipients),
            "decisions": [_audited_decision(d, request) for d in decisions],
            "bundle_hash": decisions[0].bundle_hash if decisions else None,
        }

    def view(self, sender: Caller, exchange_id: str) -> dict[str, Any]:
        """The sender's own view of one of its exchanges: what it sent under which covenant and
        what it was told per recipient. Another partner's exchange is as absent as none."""
        with read_only(self.session_factory) as session:
            exchange = session.get(Exchange, exchange_id)
            if exchange is None or exchange.sender != sender.partner_id:
                raise not_found("exchange", f"no exchange {exchange_id!r} of yours")
            return {
                "id": exchange.id, "covenant": exchange.covenant,
                "covenant_version": exchange.covenant_version, "purpose": exchange.purpose,
                "process_step": exchange.process_step, "case_id": exchange.case_id,
                "exploitation_form": exchange.exploitation_form or UNKNOWN_EXPLOITATION_FORM,
                "status": exchange.status, "created_at": exchange.created_at.isoformat(),
                "audit_event_id": exchange.audit_event_id,
                "decisions": exchange.response_body["decisions"],
            }

    def record_rejection(self, sender: Caller, problem: Problem) -> None:
        """Audit a refused request of an authenticated sender; nothing else is stored.

        The entry holds our own words only: the problem's slug and its pointers rebuilt from
        the request schema (:func:`schema_pointer`), never a detail or a member name the
        partner chose.
        """
        with transaction(self.session_factory) as session:
            self.audit.append(
                session,
                {
                    "action": "exchange.rejected",
                    "actor": sender.actor(),
                    "transaction_id": sender.transaction_id,
                    "status": problem.status,
                    "problem": problem.slug,
                    "fields": sorted({schema_pointer(e.pointer) for e in problem.errors}),
                },
            )

    def _digest(self, body: dict[str, Any]) -> str:
        # Keyed: the body holds identifiers, and an unkeyed hash of a BSN can be brute-forced.
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self.digest_key, canonical.encode(), hashlib.sha256).hexdigest()


def _check_idempotency_key(key: str | None) -> None:
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and key.isprintable()):
        raise Problem(
            400, "invalid-idempotency-key", "Invalid Idempotency-Key",
            f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable "
            "characters",
        )


# Built once (see gateway.db): every exchange with an Idempotency-Key looks itself up first.
_ANSWERED = select(Exchange.request_digest, Exchange.response_status, Exchange.response_body
                   ).where(Exchange.client_id == bindparam("client_id"),
                           Exchange.idempotency_key == bindparam("key"))


def _replay(
    session: Session, sender: Caller, key: str, digest: str
) -> ExchangeOutcome | None:
    stored = core(session).execute(
        _ANSWERED, {"client_id": sender.client_id, "key": key}
    ).one_or_none()
    if stored is None:
        return None
    if not hmac.compare_digest(stored.request_digest, digest):
        raise conflict(
            "idempotency-key-reused",
            "this Idempotency-Key was already used for a different request body",
        )
    return ExchangeOutcome(stored.response_status, stored.response_body)


def _outcome(exchange_id: str, decisions: list[Decision], event_id: str) -> ExchangeOutcome:
    views = [_decision_view(d, full=False) for d in decisions]
    if any(d.allowed for d in decisions):
        return ExchangeOutcome(
            201, {"id": exchange_id, "decisions": views, "audit_event_id": event_id}
        )
    problem = forbidden(
        "no-recipient-allowed",
        "the covenant lets none of the recipients receive any of these categories",
        exchange_id=exchange_id, decisions=views, audit_event_id=event_id,
    )
    return ExchangeOutcome(403, problem.as_dict())


def _audited_decision(decision: Decision, request: ExchangeRequest) -> dict[str, Any]:
    """The decision as the audit entry keeps it: persons' levels in the order of the entry's
    subjects, because subject refs are partner-chosen text the append-only log must not keep."""
    view = _decision_view(decision, full=True)
    view["subject_identities"] = [decision.subject_identities.get(s.ref)
                                  for s in request.subjects]
    return view


def _decision_view(decision: Decision, *, full: bool) -> dict[str, Any]:
    """The decision as a refused sender and the audit entry see it (``full``: with the bundle
    hash that makes it replayable); the covenant is named once, beside the decisions."""
    whole = decision.as_dict()
    return {key: whole[key] for key in DECISION_FIELDS + (("bundle_hash",) if full else ())}


def _categories_by_subject(request: ExchangeRequest) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(subject ref, the categories of the items naming it), sorted: the same for every
    recipient, so computed once per exchange."""
    named: dict[str, set[str]] = {}
    for item in request.items:
        if item.subject_ref is not None:
            named.setdefault(item.subject_ref, set()).add(item.category)
    return tuple(sorted((ref, tuple(sorted(categories))) for ref, categories in named.items()))


def strongest_level(levels: Iterable[str]) -> str:
    """The delivery's summary level: the strongest level of a person in it ("none" if none)."""
    return max(levels, key=IDENTITY_LEVELS.index, default="none")


def _without_restricted(request: ExchangeRequest, restricted: frozenset[str]
                        ) -> tuple[ExchangeRequest, tuple[str, ...]]:
    """The request without the restricted persons and their items, and those items'
    categories; unchanged when nobody is restricted."""
    if not restricted:
        return request, ()
    withheld = tuple(sorted({i.category for i in request.items if i.subject_ref in restricted}))
    return replace(
        request,
        subjects=tuple(s for s in request.subjects if s.ref not in restricted),
        items=tuple(i for i in request.items if i.subject_ref not in restricted),
    ), withheld


def _restricted_decision(decision: Decision, restricted: frozenset[str],
                         categories: tuple[str, ...]) -> Decision:
    """The decision saying why a restricted person's data were withheld: one reason per
    person, without the partner-chosen ref (decisions are audited); the sender reads which
    person from ``subject_identities`` (``none``)."""
    if not restricted:
        return decision
    reasons = tuple(Reason(RESTRICTED_REASON, "the processing of a person's data is restricted "
                           "(AVG art. 18): their subject and items were withheld")
                    for _ in sorted(restricted))
    return replace(
        decision,
        categories_withheld=tuple(sorted({*decision.categories_withheld, *categories}
                                         - set(decision.categories_delivered))),
        subject_identities={**decision.subject_identities, **dict.fromkeys(restricted, "none")},
        reasons=decision.reasons + reasons,
    )


def _restricted_count(decisions: list[Decision]) -> dict[str, int]:
    """``subjects_restricted`` for the audit entry when persons were withheld (every decision
    carries one reason per withheld person), nothing otherwise."""
    count = sum(1 for r in decisions[0].reasons if r.code == RESTRICTED_REASON) if decisions else 0
    return {"subjects_restricted": count} if count else {}


def _covenant_version(decisions: list[Decision]) -> str | None:
    return next((d.covenant_version for d in decisions if d.covenant_version), None)

