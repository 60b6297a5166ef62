"""Subject access requests (AVG art. 15): every audit entry about one person, as a report.

The privacy officer (``audit:read``) submits a person's identifiers; the vault turns them into
the person's audit pseudonym, the only way entries name persons. An entry concerns the person
when that pseudonym (or that of a subject a confirmed linkage made the same person) occurs
anywhere in it as a value: ``subjects[*].audit_pseudonym`` of exchanges and cases,
``identities_disclosed`` of inbox reads, ``subject`` of re-identifications, ``subjects`` of
linkage decisions, and so on. Audit pseudonyms are keyed digests, so an exact value match
cannot pick up another person's entry by accident.

The request is itself audited (``audit.subject_access``) with the pseudonyms only: the
identifiers are used to derive the pseudonym and are then dropped, never stored or echoed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import rfc8785
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from audit.log import AuditLog
from audit.models import AuditEntry
from gateway.auditing.services import Reader
from gateway.clock import Clock
from gateway.db import transaction
from gateway.identity.interfaces import (
    SUBJECT_KINDS,
    Identifiers,
    validate_identifiers,
    validate_subject_identifiers,
)
from gateway.linkage.models import LinkageAlias
from gateway.ports import AuditPseudonyms
from gateway.problems import FieldError, validation_failed

ACTION = "audit.subject_access"
REQUEST_FIELDS = frozenset({"kind", "identifiers"})
# Rows read per query while scanning; the report itself is never cut short.
SCAN_BATCH = 1000
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class SubjectPseudonyms(AuditPseudonyms, Protocol):
    """The log's pseudonyms for a subject found by id or by the identifiers a data subject gives."""

    def audit_pseudonym_for(self, identifiers: Identifiers) -> str | None: ...


@dataclass(frozen=True)
class SubjectAccessService:
    session_factory: sessionmaker[Session]
    audit: AuditLog
    vault: SubjectPseudonyms
    # The covenant documents in force (id -> document), for the categories' legal bases.
    covenants: Callable[[], Mapping[str, Any]]
    clock: Clock

    def report(self, reader: Reader, body: object) -> dict[str, Any]:
        """The person's entries in write order, with the request audited in the same transaction."""
        pseudonym = self.vault.audit_pseudonym_for(parse_request(body, self.clock.today()))
        if pseudonym is None:  # validation guarantees a subject key; kept as a hard stop
            raise validation_failed([FieldError("/identifiers", "names nobody")])
        covenants = self.covenants()
        with transaction(self.session_factory) as session:
            pseudonyms = self.linked_pseudonyms(session, pseudonym)
            entries = [
                _report_entry(row, pseudonyms, covenants)
                for row in _entries_naming(session, pseudonyms)
            ]
            self.audit.append(session, {
                "action": ACTION,
                "actor": reader.actor(),
                "audit_pseudonym": pseudonym,
                "linked_pseudonyms": sorted(pseudonyms - {pseudonym}),
                "event_ids": [entry["event_id"] for entry in entries],
            })
        return {
            "generated_at": self.clock.now().strftime(TIME_FORMAT),
            "audit_pseudonym": pseudonym,
            "linked_pseudonyms": sorted(pseudonyms - {pseudonym}),
            "entry_count": len(entries),
            "entries": entries,
        }

    def linked_pseudonyms(self, session: Session, pseudonym: str) -> set[str]:
        """``pseudonym`` and the audit pseudonyms of every subject linked to the same person.

        Aliases are flat (each points at its canonical subject), and the vault alone can map
        subject ids to audit pseudonyms, so each alias is hashed once: linear in confirmed
        links, which stay few.
        """
        aliases = session.execute(
            select(LinkageAlias.subject_id, LinkageAlias.canonical_subject_id)
        ).all()
        groups: dict[str, set[str]] = {}
        for subject_id, canonical in aliases:
            groups.setdefault(canonical, {canonical}).add(subject_id)
        for members in groups.values():
            named = {self.vault.audit_pseudonym(subject_id) for subject_id in members}
            if pseudonym in named:
                return named
        return {pseudonym}


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


def _entries_naming(session: Session, pseudonyms: set[str]) -> Iterator[AuditEntry]:
    """Entries holding one of ``pseudonyms`` as a value, in write order.

    Entries are canonical JSON, so a pseudonym occurs in the text exactly as its JSON string;
    ``LIKE`` narrows the rows, :func:`_names` decides.
    """
    needles = [bytes(rfc8785.dumps(p)).decode("utf-8") for p in sorted(pseudonyms)]
    condition = or_(*(AuditEntry.entry.contains(n, autoescape=True) for n in needles))
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > after, condition)
            .order_by(AuditEntry.id).limit(SCAN_BATCH)
        ).all()
        for row in rows:
            if _names(json.loads(row.entry), pseudonyms):
                yield row
        if len(rows) < SCAN_BATCH:
            return
        after = rows[-1].id


def _names(value: Any, pseudonyms: set[str]) -> bool:
    if isinstance(value, str):
        return value in pseudonyms
    if isinstance(value, dict):
        return any(_names(v, pseudonyms) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, pseudonyms) for v in value)
    return False


def _report_entry(
    row: AuditEntry, pseudonyms: set[str], covenants: Mapping[str, Any]
) -> dict[str, Any]:
    """One entry as the report shows it: who, to whom, what, why, decided how."""
    entry = json.loads(row.entry)
    covenant = entry.get("covenant")
    categories = _categories_about(entry, pseudonyms)
    return {
        "event_id": row.event_id,
        "recorded_at": row.recorded_at.strftime(TIME_FORMAT),
        "tree_index": row.tree_index,
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
        "categories": _categories(categories, covenants.get(covenant) if isinstance(
            covenant, str) else None),
        "recipients": _recipients(entry),
        "bundle_hash": entry.get("bundle_hash"),
        "entry": entry,
    }


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


def _recipients(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per recipient: the decision, what it received and withheld, and why."""
    decisions = {
        d.get("recipient"): d for d in _list(entry.get("decisions")) if isinstance(d, Mapping)
    }
    views = []
    for recipient in _list(entry.get("recipients")):
        decision = decisions.get(recipient, {})
        allowed = decision.get("allowed")
        views.append({
            "partner": recipient,
            "decision": None if allowed is None else ("allowed" if allowed else "refused"),
            "identity": decision.get("identity"),
            "categories_delivered": list(_list(decision.get("categories_delivered"))),
            "categories_withheld": list(_list(decision.get("categories_withheld"))),
            "reasons": [r.get("message") for r in _list(decision.get("reasons"))
                        if isinstance(r, Mapping)],
        })
    return views


def _list(value: Any) -> Iterator[Any]:
    return iter(value) if isinstance(value, list) else iter(())
