"""Re-identification: a partner sees the identity behind one of its own pseudonyms, if allowed.

The policy (``ketenpoort/reidentification/decision``) decides from the requester, the covenant
grants and the deliveries that carried the pseudonym to the requester; nothing is revealed
unless it says yes. What is released is the identity as one exchange sent it: that of the latest
delivery the policy names releasable (the pseudonym's delivery to the requester whose every
category about the person has an identified grant), never the vault's merged record, so
neither other partners' fields nor a confirmed link ever widen it. On top of the policy come a
limit per partner and period, and four-eyes approval for chosen subject roles and for minors:
such a request waits until a second client of the same partner approves it, and the requester
then fetches the identity once.

Every step is audited with the subject's audit pseudonym, never an identifier. The free-text
reason stays in the request row; audit entries refer to it by the row's id.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import Clock
from gateway.db import transaction
from gateway.delivery.models import Delivery
from gateway.identity.bsn import is_valid_bsn
from gateway.identity.interfaces import Identifiers, parse_iso_date
from gateway.identity.models import Reidentification
from gateway.identity.services import IdentityVault
from gateway.policy.interfaces import REIDENTIFICATION_ENTRYPOINT, PolicyEngineError
from gateway.ports import AuditAppender, Caller
from gateway.problems import (
    FieldError,
    Problem,
    conflict,
    forbidden,
    not_found,
    validation_failed,
)

MAX_REASON_LENGTH = 2000
MAX_PSEUDONYM_LENGTH = 64
MAX_CASE_ID_LENGTH = 36
ADULT_AGE = 18


class PolicyEvaluator(Protocol):
    def evaluate(self, entrypoint: str, input: dict[str, Any]) -> tuple[str, Any]: ...



class AssignedCase(Protocol):
    def is_assigned(self, partner: str) -> bool: ...


class CaseLookup(Protocol):
    def contexts(self, session: Session, case_ids: Iterable[str]) -> dict[str, Any]: ...



@dataclass(frozen=True)
class ReidentificationRules:
    limit: int
    period_seconds: float
    four_eyes_roles: frozenset[str]
    four_eyes_minors: bool
    min_reason_length: int


@dataclass(frozen=True)
class ReidentificationRequest:
    pseudonym: str
    reason: str
    case_id: str | None


@dataclass(frozen=True)
class DeliveredSubject:
    """One delivery of the pseudonym to the requester, seen as the policy needs it."""

    subject_id: str
    role: str
    policy_view: dict[str, Any]
    exchange_id: str
    sent: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ReidentificationService:
    session_factory: sessionmaker[Session]
    vault: IdentityVault
    policy: PolicyEvaluator
    audit: AuditAppender
    rules: ReidentificationRules
    clock: Clock
    cases: CaseLookup | None = None

    def request(self, requester: Caller, body: Any) -> Outcome:
        """Release (200), hold for approval (202), or raise a 403/429 problem; all audited."""
        parsed = parse_request(body, self.rules.min_reason_length)
        # Refusals are raised only after the transaction holding their audit entry committed.
        with transaction(self.session_factory) as session:
            retry_after = self._retry_after(session, requester)
            if retry_after is not None:
                self._append(session, requester, "reidentification.refused", None,
                             code="limit-exceeded")
                outcome = None
            else:
                outcome = self._decide(session, requester, parsed)
        if outcome is None:
            raise _limit_exceeded(retry_after or 1, self.rules)
        if outcome.status == 403:
            raise forbidden("reidentification-refused",
                            "the policy does not let you see this identity", **outcome.body)
        return outcome

    def approve(self, approver: Caller, reidentification_id: str) -> dict[str, Any]:
        with transaction(self.session_factory) as session:
            row = self._second_person(session, approver, reidentification_id)
            row.status, row.approved_by = "approved", approver.client_id
            row.approved_at = self.clock.now()
            self._append(session, approver, "reidentification.approved", row)
            return _view(row)

    def deny(self, approver: Caller, reidentification_id: str) -> dict[str, Any]:
        """The second person says no: the request is refused for good, the identity never
        released; audited like an approval."""
        with transaction(self.session_factory) as session:
            row = self._second_person(session, approver, reidentification_id)
            row.status = "refused"
            self._append(session, approver, "reidentification.denied", row)
            return _view(row)

    def _second_person(self, session: Session, approver: Caller,
                       reidentification_id: str) -> Reidentification:
        """The partner's pending request, locked, decided by someone other than its requester."""
        row = self._own(session, approver, reidentification_id, for_update=True)
        if row.client_id == approver.client_id:
            raise forbidden("self-approval", "a second person must decide; not the requester")
        if row.status != "pending":
            raise conflict("not-pending", f"this re-identification is {row.status}")
        return row

    def pending(self, approver: Caller) -> list[dict[str, Any]]:
        """The partner's requests waiting for a second person, oldest first: the four-eyes
        queue. Shows what the approver judges (the reason and the case), never an identity."""
        with transaction(self.session_factory) as session:
            rows = session.scalars(select(Reidentification).where(
                Reidentification.partner == approver.partner_id,
                Reidentification.status == "pending").order_by(Reidentification.created_at))
            return [{**_view(row), "reason": row.reason, "requested_by": row.client_id,
                     "requested_at": row.created_at.isoformat(),
                     "own_request": row.client_id == approver.client_id} for row in rows]

    def fetch(self, requester: Caller, reidentification_id: str) -> dict[str, Any]:
        """The request's state; its requester gets the identity once, after approval."""
        with transaction(self.session_factory) as session:
            row = self._own(session, requester, reidentification_id, for_update=True)
            if row.status != "approved" or row.client_id != requester.client_id:
                return _view(row)
            # The covenant may have changed while the request waited: decide again.
            delivered = delivered_subjects(session, row.partner, row.pseudonym, row.case_id)
            parsed = ReidentificationRequest(row.pseudonym, row.reason, row.case_id)
            row.bundle_hash, decision = self._policy_decision(session, requester, parsed,
                                                              delivered)
            if not decision["allowed"]:
                row.status = "refused"
                self._append(session, requester, "reidentification.refused", row,
                             reasons=decision["reasons"])
                return {**_view(row), "reasons": decision["reasons"]}
            identity = self._reveal(session, delivered, decision)
            row.status, row.released_at = "released", self.clock.now()
            event_id = self._append(session, requester, "reidentification.released", row)
            return {**_view(row), "identity": identity, "audit_event_id": event_id}

    def _decide(
        self, session: Session, requester: Caller, parsed: ReidentificationRequest
    ) -> Outcome:
        delivered = delivered_subjects(session, requester.partner_id, parsed.pseudonym,
                                       parsed.case_id)
        bundle_hash, decision = self._policy_decision(session, requester, parsed, delivered)
        row = Reidentification(
            id=str(uuid.uuid4()), partner=requester.partner_id, client_id=requester.client_id,
            pseudonym=parsed.pseudonym, subject_id=delivered[0].subject_id if delivered else None,
            case_id=parsed.case_id, reason=parsed.reason, status="refused",
            requires_approval=False, bundle_hash=bundle_hash, created_at=self.clock.now(),
        )
        session.add(row)
        self._append(session, requester, "reidentification.requested", row,
                     allowed=decision["allowed"], grants=decision["grants"])
        if not decision["allowed"]:
            event_id = self._append(session, requester, "reidentification.refused", row,
                                    reasons=decision["reasons"])
            return Outcome(403, {"id": row.id, "reasons": decision["reasons"],
                                 "audit_event_id": event_id})
        identity = self._reveal(session, delivered, decision)
        if self._needs_second_person(delivered, identity):
            row.status, row.requires_approval = "pending", True
            session.flush()
            return Outcome(202, _view(row), {"Location": f"/v1/reidentifications/{row.id}"})
        row.status, row.released_at = "released", self.clock.now()
        event_id = self._append(session, requester, "reidentification.released", row)
        return Outcome(200, {**_view(row), "identity": identity, "audit_event_id": event_id})

    def _policy_decision(
        self, session: Session, requester: Caller, parsed: ReidentificationRequest,
        delivered: list[DeliveredSubject],
    ) -> tuple[str | None, dict[str, Any]]:
        policy_input = {
            "requester": requester.partner_id,
            "today": self.clock.today().isoformat(),
            "requester_assigned": self._assigned(session, requester, parsed.case_id),
            "deliveries": [d.policy_view for d in delivered],
        }
        try:
            bundle_hash, result = self.policy.evaluate(REIDENTIFICATION_ENTRYPOINT, policy_input)
        except PolicyEngineError:
            return None, _engine_refusal()
        if not _well_formed(result, len(delivered)):
            return bundle_hash, _engine_refusal()
        return bundle_hash, result

    def _assigned(self, session: Session, requester: Caller, case_id: str | None) -> bool:
        if case_id is None or self.cases is None:
            return False
        context = self.cases.contexts(session, [case_id]).get(case_id)
        return context is not None and bool(context.is_assigned(requester.partner_id))

    def _needs_second_person(
        self, delivered: list[DeliveredSubject], identity: Identifiers
    ) -> bool:
        if any(d.role in self.rules.four_eyes_roles for d in delivered):
            return True
        return self.rules.four_eyes_minors and _is_minor(identity, self.clock.today())

    def _retry_after(self, session: Session, requester: Caller) -> int | None:
        """Seconds until the partner may ask again, or None when under its limit."""
        now = self.clock.now()
        since = now - timedelta(seconds=self.rules.period_seconds)
        in_period = (Reidentification.partner == requester.partner_id,
                     Reidentification.created_at > since)
        count = session.scalar(select(func.count()).where(*in_period)) or 0
        if count < self.rules.limit:
            return None
        oldest = session.scalar(
            select(Reidentification.created_at).where(*in_period)
            .order_by(Reidentification.created_at.desc()).offset(self.rules.limit - 1).limit(1)
        )
        waited = (now - oldest).total_seconds() if oldest is not None else 0.0
        return max(1, math.ceil(self.rules.period_seconds - waited))

    def _reveal(
        self, session: Session, delivered: list[DeliveredSubject], decision: dict[str, Any]
    ) -> Identifiers:
        """The identity as sent in the latest releasable delivery (see the module docstring)."""
        # Deliveries come in inbox order and the policy's answer is well formed (checked).
        latest = delivered[max(decision["releasable"])]
        return self.vault.reveal_sent(session, latest.exchange_id, latest.sent)

    def _own(self, session: Session, who: Caller, reidentification_id: str, *,
             for_update: bool = False) -> Reidentification:
        row = session.get(Reidentification, reidentification_id, with_for_update=for_update)
        if row is None or row.partner != who.partner_id:
            # Another partner's request is indistinguishable from none at all.
            raise not_found("reidentification", "no such re-identification for your partner")
        return row

    def _append(self, session: Session, who: Caller, action: str,
                row: Reidentification | None, **details: Any) -> str:
        event: dict[str, Any] = {
            "action": action,
            "actor": who.actor(),  # names the person too, when one acts in the workspace
            **details,
        }
        if row is not None:
            event.update({
                "reidentification_id": row.id,
                "case_id": row.case_id,
                "requester": {"partner": row.partner, "client": row.client_id},
                "subject": None if row.subject_id is None
                else self.vault.audit_pseudonym(row.subject_id),
                "bundle_hash": row.bundle_hash,
            })
        return self.audit.append(session, event)


def delivered_subjects(
    session: Session, partner: str, pseudonym: str, case_id: str | None
) -> list[DeliveredSubject]:
    """Every delivery to ``partner`` naming ``pseudonym`` (within ``case_id``, when given).

    Deliveries stored before identities were sealed per exchange hold no identity as sent and
    so none to release: they are left out.
    """
    found = []
    deliveries = session.scalars(
        select(Delivery).where(Delivery.recipient == partner).order_by(Delivery.seq)
    )
    for delivery in deliveries:
        payload = delivery.payload
        if case_id is not None and payload.get("case_id") != case_id:
            continue
        for subject in payload.get("subjects", []):
            if subject.get("pseudonym") != pseudonym or "sent" not in subject:
                continue
            categories = sorted({item["category"] for item in payload.get("items", [])
                                 if item.get("subject_ref") == subject["ref"]})
            found.append(DeliveredSubject(
                subject_id=subject["subject_id"], role=subject.get("role", ""),
                exchange_id=delivery.exchange_id, sent=subject["sent"],
                policy_view={
                    "covenant": payload["covenant"], "purpose": payload["purpose"],
                    "process_step": payload["process_step"], "provider": delivery.sender,
                    "categories": categories,
                },
            ))
    return found


def parse_request(body: Any, min_reason_length: int) -> ReidentificationRequest:
    if not isinstance(body, dict):
        raise validation_failed([FieldError("", "must be a JSON object")])
    errors = [FieldError(f"/{name}", "unknown field")
              for name in body if name not in ("pseudonym", "reason", "case_id")]
    pseudonym, reason, case_id = body.get("pseudonym"), body.get("reason"), body.get("case_id")
    if not isinstance(pseudonym, str) or not 0 < len(pseudonym) <= MAX_PSEUDONYM_LENGTH:
        errors.append(FieldError("/pseudonym", f"a string of 1 to {MAX_PSEUDONYM_LENGTH} "
                                               "characters"))
    reason_problem = _reason_problem(reason, min_reason_length)
    if reason_problem is not None:
        errors.append(FieldError("/reason", reason_problem))
    if case_id is not None and not (
        isinstance(case_id, str) and 0 < len(case_id) <= MAX_CASE_ID_LENGTH
    ):
        errors.append(FieldError("/case_id", f"null or a string of 1 to {MAX_CASE_ID_LENGTH} "
                                             "characters"))
    if errors:
        raise validation_failed(errors)
    return ReidentificationRequest(str(pseudonym), str(reason).strip(), case_id)


def _reason_problem(reason: Any, min_length: int) -> str | None:
    if not isinstance(reason, str):
        return "mandatory: a string saying why the identity is needed"
    if not min_length <= len(reason.strip()) <= MAX_REASON_LENGTH:
        return f"between {min_length} and {MAX_REASON_LENGTH} characters"
    if any(is_valid_bsn(run) for run in _nine_digit_windows(reason)):
        # The reason is stored; it must not become a way to store a BSN in plaintext.
        return "must not contain a BSN"
    return None


def _nine_digit_windows(text: str) -> Iterable[str]:
    for run in re.findall(r"[0-9]{9,}", text):
        yield from (run[i : i + 9] for i in range(len(run) - 8))


def _is_minor(identity: Identifiers, today: date) -> bool:
    born_text = identity.get("birth_date")
    if born_text is None:
        return False
    born = parse_iso_date(born_text)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age < ADULT_AGE


def _well_formed(result: Any, deliveries: int) -> bool:
    releasable = result.get("releasable") if isinstance(result, dict) else None
    return (
        isinstance(result, dict)
        and isinstance(result.get("allowed"), bool)
        and isinstance(result.get("grants"), list)
        and isinstance(result.get("reasons"), list)
        and isinstance(releasable, list)
        and all(isinstance(i, int) and 0 <= i < deliveries for i in releasable)
        and result["allowed"] == bool(releasable)
    )


def _engine_refusal() -> dict[str, Any]:
    return {"allowed": False, "grants": [], "releasable": [], "reasons": [
        {"code": "engine-error", "message": "the policy engine gave no decision; nothing is "
                                            "revealed"}]}


def _limit_exceeded(retry_after: int, rules: ReidentificationRules) -> Problem:
    return Problem(
        429, "reidentification-limit", "Too many re-identifications",
        f"at most {rules.limit} re-identification requests per {rules.period_seconds:g} seconds",
        headers={"Retry-After": str(retry_after)},
    )


def _view(row: Reidentification) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "pseudonym": row.pseudonym,
        "case_id": row.case_id,
        "requires_approval": row.requires_approval,
        "approved_by": row.approved_by,
    }
