"""Fuzzy linkage: encode persons at intake, propose candidate pairs, let the RIEC decide.

Nothing is ever merged automatically. At intake (:meth:`LinkageService.index`, called by the
exchange in its own transaction) a new subject's keyed Bloom filter and blocking keys are
stored, the subject is compared with every subject sharing a bucket, and each pair scoring at
least the threshold becomes a pending candidate. Persons with the same BSN need no candidate:
the vault gives them one subject id already.

Only partners holding the reviewer role ("regie") in a covenant see candidates, and they see
them under their own pseudonyms with a score, never a name. Confirming makes the two subjects
one: the alias table maps the younger canonical subject onto the older, and the exchange
pseudonymises through :meth:`LinkageService.canonical`, so from then on every recipient sees
one pseudonym for the person. Rejecting keeps the pair, so it is never proposed again.
Listing, confirming and rejecting are each audited in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import core, insert_absent, insert_rows, transaction, utcnow
from gateway.exchange.services import AuditAppender, PseudonymSource, Sender
from gateway.identity.interfaces import Identifiers
from gateway.identity.models import Subject
from gateway.linkage.encoding import (
    DEFAULT_THRESHOLD,
    BloomEncoder,
    Encoding,
    dice,
    from_bytes,
    to_bytes,
)
from gateway.linkage.interfaces import CONFIRMED, DECISIONS, PENDING, REVIEWER_ROLE
from gateway.linkage.models import LinkageAlias, LinkageBlock, LinkageCandidate, LinkageRecord
from gateway.problems import FieldError, conflict, forbidden, not_found, validation_failed

# Built once (see gateway.db): these run in every exchange that names a person.
_NEIGHBOURS = select(LinkageRecord.subject_id, LinkageRecord.bloom).where(
    LinkageRecord.subject_id.in_(
        select(LinkageBlock.subject_id)
        .where(LinkageBlock.block_key.in_(bindparam("blocks", expanding=True)),
               LinkageBlock.subject_id != bindparam("subject_id"))
        .distinct()
    ),
    LinkageRecord.key_version == bindparam("key_version"),
)
_CANONICAL = select(LinkageAlias.canonical_subject_id).where(
    LinkageAlias.subject_id == bindparam("subject_id")
)


class AuditPseudonyms(Protocol):
    def audit_pseudonym(self, subject_id: str) -> str: ...


def reviewing_partners(covenants: Mapping[str, Any]) -> frozenset[str]:
    """Partners holding the reviewer role in any covenant of the bundle's ``covenants``."""
    return frozenset(
        party["partner"]
        for covenant in covenants.values()
        for party in covenant["parties"]
        if party.get("role") == REVIEWER_ROLE
    )


@dataclass
class LinkageService:
    session_factory: sessionmaker[Session]
    encoder: BloomEncoder
    key_version: int
    pseudonyms: PseudonymSource
    audit_pseudonyms: AuditPseudonyms
    audit: AuditAppender
    reviewers: Callable[[], frozenset[str]]
    threshold: float = DEFAULT_THRESHOLD

    def encode(self, identifiers: Identifiers) -> Encoding | None:
        """A person's filter and buckets; callers encode before their transaction begins."""
        return self.encoder.encode(identifiers)

    def index(
        self, session: Session, subject_id: str, encoding: Encoding | None, *, new_subject: bool
    ) -> str:
        """Store a subject seen for the first time and propose its candidates.

        Returns the subject's canonical id: the one to pseudonymise, so pseudonyms follow
        confirmed links. A subject keeps the filter of the identifiers it first arrived with,
        as the vault keeps the first value of every field. ``new_subject`` says the vault has
        just created the subject, which therefore cannot have been linked yet.
        """
        if encoding is not None and self._stored(session, subject_id, encoding):
            self._propose(session, subject_id, encoding)
        return subject_id if new_subject else self.canonical(session, subject_id)

    def canonical(self, session: Session, subject_id: str) -> str:
        alias = core(session).execute(_CANONICAL, {"subject_id": subject_id}).scalar()
        return subject_id if alias is None else str(alias)

    def forget(self, session: Session, subject_id: str) -> None:
        """Drop a subject's filter and buckets (with its identity, when it is shredded)."""
        forget_subject(session, subject_id)

    def candidates(self, reader: Sender, limit: int) -> list[dict[str, Any]]:
        """Pending candidates, best first, under the reader's pseudonyms; the listing is audited."""
        self._check_reviewer(reader)
        with transaction(self.session_factory) as session:
            pending = session.scalars(
                select(LinkageCandidate)
                .where(LinkageCandidate.status == PENDING)
                .order_by(LinkageCandidate.score.desc(), LinkageCandidate.id)
                .limit(limit)
            ).all()
            views = [self._view(session, reader, c) for c in pending]
            self.audit.append(session, {
                "action": "linkage.candidates.listed",
                "actor": reader.actor(),
                "candidate_ids": [c.id for c in pending],
            })
        return views

    def decide(self, reader: Sender, candidate_id: str, body: object) -> dict[str, Any]:
        """Confirm or reject a pending candidate; a decided one cannot be decided again."""
        self._check_reviewer(reader)
        decision = _parse_decision(body)
        with transaction(self.session_factory) as session:
            candidate = session.get(LinkageCandidate, candidate_id, with_for_update=True)
            if candidate is None:
                raise not_found("linkage-candidate", f"no linkage candidate {candidate_id!r}")
            if candidate.status != PENDING:
                raise conflict("candidate-decided", f"the candidate is {candidate.status} already")
            candidate.status = decision
            candidate.decided_at = utcnow()
            candidate.decided_by = reader.partner_id
            if decision == CONFIRMED:
                self._link(session, candidate)
            session.flush()
            self.audit.append(session, {
                "action": f"linkage.{decision}",
                "actor": reader.actor(),
                "candidate_id": candidate.id,
                "score": candidate.score,
                "subjects": [self.audit_pseudonyms.audit_pseudonym(s)
                             for s in (candidate.subject_a, candidate.subject_b)],
            })
            return self._view(session, reader, candidate)

    def _check_reviewer(self, reader: Sender) -> None:
        if reader.partner_id not in self.reviewers():
            raise forbidden(
                "not-a-linkage-reviewer",
                f"only partners with the covenant role {REVIEWER_ROLE!r} review linkage candidates",
            )

    def _stored(self, session: Session, subject_id: str, encoding: Encoding) -> bool:
        """Store the subject's filter and buckets; False when it has a filter already."""
        record = {"subject_id": subject_id, "key_version": self.key_version,
                  "bloom": to_bytes(encoding.bloom)}
        if not insert_absent(session, LinkageRecord, [record], unique=("subject_id",),
                             returning="subject_id"):
            return False
        insert_rows(session, LinkageBlock,
                    [{"block_key": k, "subject_id": subject_id} for k in encoding.blocks])
        return True

    def _propose(self, session: Session, subject_id: str, encoding: Encoding) -> None:
        candidates = [
            {"id": str(uuid.uuid4()), "subject_a": min(subject_id, other),
             "subject_b": max(subject_id, other), "score": score, "status": PENDING}
            for other, score in self._matches(session, subject_id, encoding)
        ]
        # A pair proposed before (and perhaps rejected) is never proposed again.
        insert_absent(session, LinkageCandidate, candidates, unique=("subject_a", "subject_b"),
                      returning="id")

    def _matches(
        self, session: Session, subject_id: str, encoding: Encoding
    ) -> Iterable[tuple[str, float]]:
        records = core(session).execute(_NEIGHBOURS, {
            "blocks": sorted(encoding.blocks), "subject_id": subject_id,
            "key_version": self.key_version,
        })
        for other, bloom in records:
            score = dice(encoding.bloom, from_bytes(bloom))
            if score >= self.threshold:
                yield other, round(score, 4)

    def _link(self, session: Session, candidate: LinkageCandidate) -> None:
        """Make the two subjects one: the younger canonical subject and its aliases follow the
        older, so the pseudonym partners have seen longest is the one that stays."""
        canonicals = {self.canonical(session, candidate.subject_a),
                      self.canonical(session, candidate.subject_b)}
        if len(canonicals) == 1:
            return
        subjects = session.scalars(select(Subject).where(Subject.id.in_(canonicals))).all()
        keeper, merged = (s.id for s in sorted(subjects, key=lambda s: (s.created_at, s.id)))
        session.execute(
            update(LinkageAlias)
            .where(LinkageAlias.canonical_subject_id == merged)
            .values(canonical_subject_id=keeper)
        )
        session.add(LinkageAlias(subject_id=merged, canonical_subject_id=keeper,
                                 candidate_id=candidate.id))

    def _view(
        self, session: Session, reader: Sender, candidate: LinkageCandidate
    ) -> dict[str, Any]:
        return {
            "id": candidate.id,
            "score": candidate.score,
            "status": candidate.status,
            "pseudonyms": [
                self.pseudonyms.pseudonym(self.canonical(session, s), reader.partner_id)
                for s in (candidate.subject_a, candidate.subject_b)
            ],
            "created_at": candidate.created_at.isoformat(),
            "decided_at": candidate.decided_at.isoformat() if candidate.decided_at else None,
        }


def _parse_decision(body: object) -> str:
    if not isinstance(body, dict):
        raise validation_failed([FieldError("", "must be a JSON object")])
    unknown = sorted(set(body) - {"decision"})
    errors = [FieldError(f"/{name}", "unknown field") for name in unknown]
    decision = body.get("decision")
    if decision not in DECISIONS:
        errors.append(FieldError("/decision", f"one of {', '.join(DECISIONS)}"))
    if errors:
        raise validation_failed(errors)
    return str(decision)


def forget_subject(session: Session, subject_id: str) -> None:
    """Remove every linkage row naming the subject: filter, buckets, candidate pairs, links.

    A link that was confirmed through a pair naming the subject goes with that pair, so two
    remaining persons joined only through a shredded one are no longer joined.
    """
    naming = or_(LinkageCandidate.subject_a == subject_id,
                 LinkageCandidate.subject_b == subject_id)
    session.execute(delete(LinkageAlias).where(or_(
        LinkageAlias.subject_id == subject_id, LinkageAlias.canonical_subject_id == subject_id,
        LinkageAlias.candidate_id.in_(select(LinkageCandidate.id).where(naming)))))
    session.execute(delete(LinkageCandidate).where(naming))
    session.execute(delete(LinkageBlock).where(LinkageBlock.subject_id == subject_id))
    session.execute(delete(LinkageRecord).where(LinkageRecord.subject_id == subject_id))


class VaultShredder(Protocol):
    def shred(self, session: Session, subject_id: str) -> None: ...

    def audit_pseudonym(self, subject_id: str) -> str: ...


@dataclass(frozen=True)
class ShredAndForget:
    """Shreds an identity and its Bloom-filter encoding together.

    A filter left behind would still let the broker recognise the erased person, so every
    shred path (retention, the operator's ``identity shred``) goes through this.
    """

    vault: VaultShredder

    def shred(self, session: Session, subject_id: str) -> None:
        self.vault.shred(session, subject_id)
        forget_subject(session, subject_id)

    def audit_pseudonym(self, subject_id: str) -> str:
        return self.vault.audit_pseudonym(subject_id)
