"""Subject access requests (AVG art. 15): every audit entry about one person, as a report.

The privacy officer (``audit:read``) submits a person's identifiers. The person is every vault
subject they can be filed under: the BSN's and that of name and birth date, those of records
sharing either key (a person sent once with a BSN and once with name and birth date is two
subjects until linked), and every subject a confirmed link made the same person. An entry
concerns the person when the audit pseudonym of one of those subjects occurs anywhere in it as a
value (``subjects[*].audit_pseudonym`` of exchanges and cases, ``identities_disclosed`` of
inbox reads, ``subject`` of re-identifications, and so on), or, for entries that name no
subjects of their own, when it concerns a case the person is a subject of (case moves,
assignments: they carry a case id) or a meeting after one of those cases was put on its agenda
(publications: they carry a meeting id). Audit pseudonyms and ids are keyed digests or UUIDs,
so an exact value match cannot pick up another person's entry by accident.

Per entry the report lists what concerns this person only: the categories of the items about
them, and per recipient their identity level, the categories about them delivered and the
covenant grants that allowed those. Other persons the entry names (the suspect in the same
exchange, the other half of a link) appear only as a count (``other_persons``): their audit
pseudonyms, roles, categories and restrictions are theirs (AVG art. 15(4)), and pseudonyms
shared between two reports would tell two people who compare them who else was in an exchange.

So the report handed to the data subject (the default copy, and its HTML and PDF) never carries
the entry itself, only its leaf hash with the inclusion proof against the latest signed
checkpoint (carried with its public key). The server verifies each entry when drawing up the
report: the stored entry hashes to the leaf, the proof leads to the checkpoint's root, the
checkpoint's signature holds; ``verification`` states the outcome and the checkpoint.
``python -m audit.verify --subject-access REPORT.json`` re-checks the proofs offline, and the
officer re-checks an entry in the browser on its audit entry page. The entries whole, as
hashed, are for the privacy officer only: the verification copy (``copy=verification``), a
request of its own, audited as ``audit.subject_access_verification_copy``, with which the
offline verifier also checks that each entry hashes to its leaf.

The request is itself audited (``audit.subject_access``) with the pseudonyms only: the
identifiers are used to derive the pseudonym and are then dropped, never stored or echoed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from audit.log import AuditLog
from audit.merkle import leaf_hash, verify_inclusion
from audit.models import AuditEntry, AuditSigningKey, Checkpoint
from audit.note import CheckpointBody, signature_valid
from gateway.auditing.services import Reader, checkpoint_view
from gateway.cases.models import CaseSubject
from gateway.clock import Clock
from gateway.db import transaction
from gateway.exchange.services import RESTRICTED_REASON
from gateway.identity.interfaces import (
    SUBJECT_KINDS,
    Identifiers,
    validate_identifiers,
    validate_subject_identifiers,
)
from gateway.identity.services import is_audit_pseudonym
from gateway.linkage.services import linked_subjects
from gateway.meetings.models import AgendaItem
from gateway.policy.interfaces import IDENTITY_LEVELS
from gateway.ports import AuditPseudonyms
from gateway.problems import FieldError, validation_failed

ACTION = "audit.subject_access"
VERIFICATION_ACTION = "audit.subject_access_verification_copy"
#: The copy for the data subject (what is about them only) and the officer's verification copy
#: (each entry whole, as hashed into the log).
DATA_SUBJECT_COPY = "data-subject"
VERIFICATION_COPY = "verification"
COPIES = (DATA_SUBJECT_COPY, VERIFICATION_COPY)
REQUEST_FIELDS = frozenset({"kind", "identifiers"})
# Rows read per query while scanning; the report itself is never cut short.
SCAN_BATCH = 1000
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class SubjectPseudonyms(AuditPseudonyms, Protocol):
    """The log's pseudonyms for a subject found by id or by the identifiers a data subject gives."""

    def audit_pseudonym_for(self, identifiers: Identifiers) -> str | None: ...

    def subject_ids_naming(self, session: Session, identifiers: Identifiers) -> set[str]: ...


@dataclass(frozen=True)
class _Person:
    """What makes an entry about the person: their pseudonyms, cases and meetings."""

    pseudonyms: set[str]
    cases: set[str]
    meetings: set[str]

    def needles(self) -> list[str]:
        return sorted(self.pseudonyms | self.cases | self.meetings)


@dataclass(frozen=True)
class SubjectAccessService:
    session_factory: sessionmaker[Session]
    audit: AuditLog
    vault: SubjectPseudonyms
    # The covenant documents in force (id -> document), for the categories' legal bases.
    covenants: Callable[[], Mapping[str, Any]]
    clock: Clock

    def report(
        self, reader: Reader, body: object, copy: str = DATA_SUBJECT_COPY
    ) -> dict[str, Any]:
        """The person's entries in write order, with the request audited in the same
        transaction; ``copy`` is one of :data:`COPIES` (only the verification copy holds the
        entries whole)."""
        identifiers = parse_request(body, self.clock.today())
        pseudonym = self.vault.audit_pseudonym_for(identifiers)
        if pseudonym is None:  # validation guarantees a subject key; kept as a hard stop
            raise validation_failed([FieldError("/identifiers", "names nobody")])
        covenants = self.covenants()
        with transaction(self.session_factory) as session:
            person = self.person(session, identifiers)
            pseudonyms = person.pseudonyms
            checkpoint = self.audit.latest_checkpoint(session)
            signed, root = _checked_checkpoint(session, checkpoint)
            entries = []
            for row, via in _entries_about(session, person):
                entry = json.loads(row.entry)
                shown = {**_report_entry(row, entry, person, covenants, via),
                         "proof": _proof(self.audit, session, row, checkpoint, root)}
                if copy == VERIFICATION_COPY:
                    shown["entry"] = entry
                entries.append(shown)
            self.audit.append(session, {
                "action": VERIFICATION_ACTION if copy == VERIFICATION_COPY else ACTION,
                "actor": reader.actor(),
                "audit_pseudonym": pseudonym,
                "linked_pseudonyms": sorted(pseudonyms - {pseudonym}),
                "case_ids": sorted(person.cases),
                "event_ids": [entry["event_id"] for entry in entries],
            })
        generated_at = self.clock.now().strftime(TIME_FORMAT)
        return {
            "generated_at": generated_at,
            "copy": copy,
            "audit_pseudonym": pseudonym,
            "linked_pseudonyms": sorted(pseudonyms - {pseudonym}),
            "case_ids": sorted(person.cases),
            "entry_count": len(entries),
            "checkpoint": signed,
            "verification": _verification(signed, root is not None, entries, generated_at),
            "entries": entries,
        }

    def person(self, session: Session, identifiers: Identifiers) -> _Person:
        """The person's audit pseudonyms (every subject key, vault alias and confirmed link),
        the cases naming one of their subjects and the meetings discussing those cases."""
        subject_ids = linked_subjects(session, self.vault.subject_ids_naming(session, identifiers))
        cases = set(session.scalars(
            select(CaseSubject.case_id).where(CaseSubject.subject_id.in_(subject_ids))))
        meetings = set(session.scalars(
            select(AgendaItem.meeting_id).where(AgendaItem.case_id.in_(cases)))) if cases else set()
        return _Person({self.vault.audit_pseudonym(s) for s in subject_ids}, cases, meetings)


def parse_request(body: object, today: date) -> Identifiers:
    """``{"kind": ..., "identifiers": {...}}`` checked like an exchange subject's (422 else).

    ``kind`` is ``persoon`` (the default), ``locatie`` (the resident of an address) or
    ``organisatie`` (a one-person business). A person must be fully identified: one reported
    only partially has no key to find them by.
    """
    if not isinstance(body, dict):
        raise validation_failed([FieldError("", "must be an object")])
    errors = [FieldError(f"/{name}", "unknown field") for name in sorted(body.keys() -
                                                                          REQUEST_FIELDS)]
    kind = body.get("kind", "persoon")
    if kind not in SUBJECT_KINDS:
        errors.append(FieldError("/kind", f"one of {tuple(SUBJECT_KINDS)}"))
    elif "identifiers" not in body:
        errors.append(FieldError("/identifiers", "required"))
    elif kind == "persoon":
        errors += validate_identifiers(body["identifiers"], "/identifiers", today=today)
    else:
        errors += validate_subject_identifiers(kind, body["identifiers"], "/identifiers",
                                               today=today)[0]
    if errors:
        raise validation_failed(errors)
    identifiers: Identifiers = body["identifiers"]
    return identifiers


def _entries_about(session: Session, person: _Person) -> Iterator[tuple[AuditEntry, str]]:
    """Entries about the person in write order, each with how: ``person`` (names one of their
    pseudonyms), ``case`` or ``meeting``.

    Entries are canonical JSON, so a pseudonym or id occurs in the text exactly as its JSON
    string; ``LIKE`` narrows the rows, :func:`_about` decides. A meeting's entries count from
    the entry that put one of the person's cases on its agenda.
    """
    needles = [bytes(rfc8785.dumps(n)).decode("utf-8") for n in person.needles()]
    condition = or_(*(AuditEntry.entry.contains(n, autoescape=True) for n in needles))
    discussed: set[str] = set()
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > after, condition)
            .order_by(AuditEntry.id).limit(SCAN_BATCH)
        ).all()
        for row in rows:
            via = _about(json.loads(row.entry), person, discussed)
            if via is not None:
                yield row, via
        if len(rows) < SCAN_BATCH:
            return
        after = rows[-1].id


def _about(entry: Mapping[str, Any], person: _Person, discussed: set[str]) -> str | None:
    if _names(entry, person.pseudonyms):
        return "person"
    if entry.get("subjects"):
        # An entry naming its own subjects (an exchange, a new case, an intervention for some
        # persons of a case) is about them alone; one naming none (an intervention for the
        # whole case) is about the case's persons.
        return None
    cases = {entry.get("case_id"), *_list(entry.get("case_ids"))} - {None}
    meeting = entry.get("meeting_id")
    if cases & person.cases:
        if meeting in person.meetings:
            discussed.add(str(meeting))
        return "case"
    if cases:
        # Only other persons' cases (one put on the same agenda later): about them alone.
        return None
    if meeting in discussed:
        return "meeting"
    return None


def _names(value: Any, pseudonyms: set[str]) -> bool:
    if isinstance(value, str):
        return value in pseudonyms
    if isinstance(value, dict):
        return any(_names(v, pseudonyms) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, pseudonyms) for v in value)
    return False


def _report_entry(
    row: AuditEntry, entry: Mapping[str, Any], person: _Person, covenants: Mapping[str, Any],
    via: str,
) -> dict[str, Any]:
    """One entry as the report shows it: who, to whom, what about this person, why, how; the
    other persons it names only as a count."""
    pseudonyms = person.pseudonyms
    covenant = entry.get("covenant")
    categories = _categories_about(entry, pseudonyms)
    return {
        "event_id": row.event_id,
        "recorded_at": row.recorded_at.strftime(TIME_FORMAT),
        "tree_index": row.tree_index,
        "via": via,
        "action": entry.get("action"),
        "actor": entry.get("actor"),
        "roles": sorted({
            s["role"] for s in _list(entry.get("subjects"))
            if isinstance(s, dict) and s.get("audit_pseudonym") in pseudonyms
            and isinstance(s.get("role"), str)
        }),
        "covenant": covenant,
        "covenant_version": entry.get("covenant_version"),
        "purpose": entry.get("purpose"),
        "process_step": entry.get("process_step"),
        "case_id": entry.get("case_id"),
        "meeting_id": entry.get("meeting_id"),
        "categories": _categories(categories, covenants.get(covenant) if isinstance(
            covenant, str) else None),
        "recipients": _recipients(entry, _positions(entry, pseudonyms), set(categories)),
        "other_persons": len(_audit_pseudonyms(entry) - pseudonyms),
        "bundle_hash": entry.get("bundle_hash"),
    }


def _audit_pseudonyms(value: Any) -> set[str]:
    """Every audit pseudonym anywhere in the entry, whatever field names it."""
    if isinstance(value, str):
        return {value} if is_audit_pseudonym(value) else set()
    if isinstance(value, dict):
        return set().union(*map(_audit_pseudonyms, value.values()))
    if isinstance(value, list):
        return set().union(*map(_audit_pseudonyms, value))
    return set()


def _categories_about(entry: Mapping[str, Any], pseudonyms: set[str]) -> list[str]:
    """The categories exchanged about this person: those of the items naming them, as the entry
    records per subject; an entry from before that names only the exchange's categories."""
    own = [s for s in _list(entry.get("subjects"))
           if isinstance(s, dict) and s.get("audit_pseudonym") in pseudonyms]
    if own and all("categories" in s for s in own):
        return sorted({c for s in own for c in _list(s["categories"]) if isinstance(c, str)})
    return [c for c in _list(entry.get("categories")) if isinstance(c, str)]


def _categories(ids: list[str], covenant: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each category with its title and legal basis as the covenant in force states them."""
    described = {
        c["id"]: c for c in (covenant or {}).get("categories", []) if isinstance(c, Mapping)
    }
    return [
        {"id": category, "title": described.get(category, {}).get("title"),
         "legal_basis": described.get(category, {}).get("legal_basis")}
        for category in ids
    ]


def _recipients(
    entry: Mapping[str, Any], positions: list[int] | None, categories: set[str]
) -> list[dict[str, Any]]:
    """Per recipient: the decision, what it received about this person (their identity level,
    the categories about them, the grants that allowed those), what was withheld, and why."""
    decisions = {
        d.get("recipient"): d for d in _list(entry.get("decisions")) if isinstance(d, Mapping)
    }
    views = []
    for recipient in _list(entry.get("recipients")):
        decision = decisions.get(recipient, {})
        allowed = decision.get("allowed")
        delivered = [c for c in _list(decision.get("categories_delivered"))
                     if not categories or c in categories]
        raw_grants = decision.get("grants")
        grants: Mapping[str, Any] = raw_grants if isinstance(raw_grants, Mapping) else {}
        views.append({
            "partner": recipient,
            "oin": decision.get("recipient_oin"),  # absent from entries made before OINs
            "decision": None if allowed is None else ("allowed" if allowed else "refused"),
            "identity": _level_of(decision, positions),
            "categories_delivered": delivered,
            "categories_withheld": [c for c in _list(decision.get("categories_withheld"))
                                    if not categories or c in categories],
            "grants": {c: list(_list(grants.get(c))) for c in delivered if c in grants},
            "reasons": [r.get("message") for r in _list(decision.get("reasons"))
                        if _about_them(r, categories)],
        })
    return views


def _about_them(reason: Any, categories: set[str]) -> bool:
    """Whether a decision's reason may be in this person's report: not one about a category of
    others, and never a restriction's. A person listed in the entry was not withheld, so a
    restriction reason is about someone else's request (AVG art. 18), which is theirs."""
    if not isinstance(reason, Mapping) or reason.get("code") == RESTRICTED_REASON:
        return False
    category = reason.get("category")
    return category is None or not categories or category in categories


def _positions(entry: Mapping[str, Any], pseudonyms: set[str]) -> list[int] | None:
    """Where the person stands in the decisions' ``subject_identities``; None when unknown.

    The entry names only the accepted persons (those some allowed decision gives a level
    other than ``none``), in request order, while the levels cover every person sent: the
    k-th named person is the k-th accepted position.
    """
    subjects = [s for s in _list(entry.get("subjects")) if isinstance(s, Mapping)]
    levels: list[list[Any]] = [
        d["subject_identities"] for d in _list(entry.get("decisions"))
        if isinstance(d, Mapping) and d.get("allowed")
        and isinstance(d.get("subject_identities"), list)]
    if not subjects or not levels:
        return None
    width = max(len(row) for row in levels)
    accepted = [i for i in range(width)
                if any(i < len(row) and row[i] not in (None, "none") for row in levels)]
    if len(accepted) != len(subjects):
        return None
    return [accepted[k] for k, s in enumerate(subjects) if s.get("audit_pseudonym") in pseudonyms]


def _level_of(decision: Mapping[str, Any], positions: list[int] | None) -> Any:
    """The person's identity level at this recipient: the strongest of their positions (one
    person sent twice in an exchange), else the decision's summary level."""
    levels = decision.get("subject_identities")
    if positions is None or not isinstance(levels, list):
        return decision.get("identity")
    own = [levels[i] for i in positions if i < len(levels) and levels[i] in IDENTITY_LEVELS]
    return max(own, key=IDENTITY_LEVELS.index, default="none")


def _proof(
    audit: AuditLog, session: Session, row: AuditEntry, checkpoint: Checkpoint | None,
    root: bytes | None,
) -> dict[str, Any] | None:
    """The entry's inclusion proof against ``checkpoint``, and whether it verified: the stored
    entry hashes to the leaf and the proof leads to ``root`` (the checkpoint's root, None when
    its signature failed). None for an entry the checkpoint does not cover yet (sequenced or
    signed after it)."""
    if checkpoint is None or row.tree_index is None or row.tree_index >= checkpoint.tree_size:
        return None
    proof = audit.inclusion_proof(session, row.event_id, checkpoint.tree_size)
    verified = (root is not None and leaf_hash(row.entry.encode("utf-8")) == proof.leaf_hash
                and verify_inclusion(proof.leaf_index, proof.tree_size, proof.leaf_hash,
                                     proof.hashes, root))
    return {"leaf_index": proof.leaf_index, "tree_size": proof.tree_size,
            "leaf_hash": _b64(proof.leaf_hash), "hashes": [_b64(h) for h in proof.hashes],
            "verified": verified}


def _checked_checkpoint(
    session: Session, checkpoint: Checkpoint | None
) -> tuple[dict[str, Any] | None, bytes | None]:
    """The checkpoint the proofs are against, with its public key for offline checks; and its
    root hash if its signature verifies under that key (else None: nothing is proven)."""
    if checkpoint is None:
        return None, None
    key = session.get(AuditSigningKey, checkpoint.key_id)
    signed = {**checkpoint_view(checkpoint),
              "public_key": None if key is None else _b64(key.public_key)}
    body = CheckpointBody(checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash,
                          checkpoint.issued_at)
    valid = key is not None and signature_valid(
        Ed25519PublicKey.from_public_bytes(key.public_key), body, checkpoint.signature)
    return signed, checkpoint.root_hash if valid else None


def _verification(
    checkpoint: Mapping[str, Any] | None, signature_verified: bool,
    entries: list[dict[str, Any]], verified_at: str,
) -> dict[str, Any] | None:
    """What the server verified when drawing up the report, against which checkpoint."""
    if checkpoint is None:
        return None
    proofs = [e["proof"] for e in entries if e["proof"] is not None]
    verified = sum(1 for proof in proofs if proof["verified"])
    return {"verified_at": verified_at, "tree_size": checkpoint["tree_size"],
            "root_hash": checkpoint["root_hash"], "key_id": checkpoint["key_id"],
            "issued_at": checkpoint["issued_at"], "signature_verified": signature_verified,
            "entries_verified": verified, "entries_failed": len(proofs) - verified,
            "entries_awaiting_checkpoint": len(entries) - len(proofs)}


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _list(value: Any) -> Iterator[Any]:
    return iter(value) if isinstance(value, list) else iter(())
