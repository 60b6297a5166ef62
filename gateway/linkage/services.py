"""Fuzzy linkage: encode persons at intake, propose candidate pairs, let the RIEC decide.

Nothing is ever merged automatically. At intake (:meth:`LinkageService.index`, called by the
exchange in its own transaction) a new subject's keyed Bloom filter and blocking keys are
stored, the subject is compared with every subject sharing a bucket, and each pair scoring at
least the threshold becomes a pending candidate. Persons with the same BSN need no candidate:
the vault gives them one subject id already.

Only partners holding the reviewer role ("regie") in a covenant see candidates, only pairs
whose two subjects were both exchanged under a covenant where they hold that role, and they see
them under their own pseudonyms with a score, never a name; a pair outside a reviewer's
covenants is as absent as one that never existed. Confirming takes two reviewers (four eyes):
the first confirmation is recorded and the pair stays pending until a different client of a
reviewer in scope confirms it. Confirming makes the two subjects one: the alias table maps the
younger canonical subject onto the older, and the exchange pseudonymises through
:meth:`LinkageService.canonical`, so from then on every recipient sees one pseudonym for the
person. A link changes pseudonyms only: what identity a recipient is shown is what the
exchange sent (gateway.identity ``seal_sent``), so a false link reveals nobody. Rejecting keeps
the pair, so it is never proposed again; unlinking a confirmed pair rejects it and rebuilds the
aliases from the links that remain. Listing, confirming, rejecting and unlinking are each
audited in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from gateway.db import core, insert_absent, insert_rows, is_uuid, session_now, transaction
from gateway.identity.interfaces import Identifiers
from gateway.identity.models import Subject
from gateway.linkage.encoding import (
    DEFAULT_THRESHOLD,
    BloomEncoder,
    Encoding,
    agreement,
    compare,
    match_score,
)
from gateway.linkage.interfaces import CONFIRMED, DECISIONS, PENDING, REJECTED, REVIEWER_ROLE
from gateway.linkage.models import (
    LinkageAlias,
    LinkageBlock,
    LinkageCandidate,
    LinkageCovenant,
    LinkageRecord,
)
from gateway.policy.covenants import Covenant
from gateway.ports import AuditAppender, AuditPseudonyms, Caller, PseudonymSource, Shredder
from gateway.problems import FieldError, conflict, forbidden, not_found, validation_failed

#: Intake compares a new person with at most this many others per bucket, and proposes at most
#: :data:`MAX_CANDIDATES_PER_SUBJECT` pairs, best first. Without the bounds one partner sending
#: many signals about one name and birth date makes pending pairs grow as N²/2 and slows every
#: partner's exchanges; with them the work per exchange is constant, and the pairs proposed
#: from a crowded bucket say so (``too_many_look_alikes``): a reviewer must look wider.
MAX_COMPARED_PER_BLOCK = 100
MAX_CANDIDATES_PER_SUBJECT = 10

# Built once (see gateway.db): these run in every exchange that names a person.
_BLOCK_NEIGHBOURS = (
    select(LinkageRecord.subject_id, LinkageRecord.bloom)
    .join(LinkageBlock, LinkageBlock.subject_id == LinkageRecord.subject_id)
    .where(LinkageBlock.block_key == bindparam("block"),
           LinkageBlock.subject_id != bindparam("subject_id"),
           LinkageRecord.key_version == bindparam("key_version"))
    .order_by(LinkageBlock.subject_id)
    .limit(MAX_COMPARED_PER_BLOCK + 1)  # one more tells a full bucket from a crowded one
)
_CANONICAL = select(LinkageAlias.canonical_subject_id).where(
    LinkageAlias.subject_id == bindparam("subject_id")
)



def reviewing_partners(covenants: Iterable[Covenant]) -> dict[str, frozenset[str]]:
    """Each partner holding the reviewer role in one of ``covenants``, with the covenants where
    it holds it."""
    scopes: dict[str, set[str]] = {}
    for covenant in covenants:
        for partner in covenant.holders(REVIEWER_ROLE):
            scopes.setdefault(partner, set()).add(covenant.id)
    return {partner: frozenset(ids) for partner, ids in scopes.items()}


@dataclass
class LinkageService:
    session_factory: sessionmaker[Session]
    encoder: BloomEncoder
    key_version: int
    pseudonyms: PseudonymSource
    audit_pseudonyms: AuditPseudonyms
    audit: AuditAppender
    reviewers: Callable[[], Mapping[str, frozenset[str]]]
    threshold: float = DEFAULT_THRESHOLD

    def encode(self, identifiers: Identifiers) -> Encoding | None:
        """A person's filter and buckets; callers encode before their transaction begins."""
        return self.encoder.encode(identifiers)

    def index(
        self, session: Session, subject_id: str, encoding: Encoding | None, *, new_subject: bool,
        covenant: str,
    ) -> str:
        """Store a subject seen for the first time and propose its candidates; remember every
        covenant it is exchanged under, which scopes who may review its candidates.

        Returns the subject's canonical id: the one to pseudonymise, so pseudonyms follow
        confirmed links. A subject keeps the filter of the identifiers it first arrived with,
        as the vault keeps the first value of every field. ``new_subject`` says the vault has
        just created the subject, which therefore cannot have been linked yet.
        """
        insert_absent(session, LinkageCovenant, [{"subject_id": subject_id, "covenant": covenant}],
                      unique=("subject_id", "covenant"), returning="subject_id")
        if encoding is not None and self._stored(session, subject_id, encoding):
            self._propose(session, subject_id, encoding)
        return subject_id if new_subject else self.canonical(session, subject_id)

    def canonical(self, session: Session, subject_id: str) -> str:
        alias = core(session).execute(_CANONICAL, {"subject_id": subject_id}).scalar()
        return subject_id if alias is None else str(alias)

    def forget(self, session: Session, subject_id: str) -> None:
        """Drop a subject's filter and buckets (with its identity, when it is shredded)."""
        forget_subject(session, subject_id)

    def candidates(self, reader: Caller, limit: int) -> list[dict[str, Any]]:
        """Pending candidates, best first, under the reader's pseudonyms; the listing is audited."""
        scope = self._scope(reader)
        with transaction(self.session_factory) as session:
            pending = session.scalars(
                select(LinkageCandidate)
                .where(LinkageCandidate.status == PENDING, _in_scope(scope))
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

    def review(self, reader: Caller, candidate_id: str, body: object) -> dict[str, Any]:
        """Confirm or reject a pending candidate; a decided one cannot be decided again.

        A confirmation by the first reviewer is recorded and leaves the candidate pending; a
        different client confirming it makes the link. Rejecting needs one reviewer.
        """
        scope = self._scope(reader)
        decision = _parse_decision(body)
        with transaction(self.session_factory) as session:
            candidate = self._candidate(session, scope, candidate_id)
            if candidate.status != PENDING:
                raise conflict("candidate-decided", f"the candidate is {candidate.status} already")
            if decision == CONFIRMED and candidate.first_confirmed_by is None:
                self._first_confirmation(session, reader, candidate)
            else:
                self._settle(session, reader, candidate, decision)
            return self._view(session, reader, candidate)

    def unlink(self, reader: Caller, candidate_id: str) -> dict[str, Any]:
        """Undo a confirmed link: the pair becomes rejected and the aliases of the persons it
        joined are rebuilt from the confirmed links that remain; audited."""
        scope = self._scope(reader)
        with transaction(self.session_factory) as session:
            candidate = self._candidate(session, scope, candidate_id)
            if candidate.status != CONFIRMED:
                raise conflict("candidate-not-linked", f"the candidate is {candidate.status}")
            members = self._group(session, candidate.subject_a)
            candidate.status, candidate.decided_at = REJECTED, session_now(session)
            candidate.decided_by = reader.partner_id
            session.flush()
            self._relink(session, members)
            self._audit_decision(session, reader, candidate, "linkage.unlinked")
            return self._view(session, reader, candidate)

    def _first_confirmation(
        self, session: Session, reader: Caller, candidate: LinkageCandidate
    ) -> None:
        candidate.first_confirmed_by = reader.client_id
        candidate.first_confirmed_partner = reader.partner_id
        candidate.first_confirmed_at = session_now(session)
        session.flush()
        self._audit_decision(session, reader, candidate, "linkage.confirmation_pending")

    def _settle(
        self, session: Session, reader: Caller, candidate: LinkageCandidate, decision: str
    ) -> None:
        if decision == CONFIRMED and candidate.first_confirmed_by == reader.client_id:
            raise forbidden("second-reviewer-required",
                            "a second reviewer must confirm this link; not the first")
        candidate.status = decision
        candidate.decided_at = session_now(session)
        candidate.decided_by = reader.partner_id
        if decision == CONFIRMED:
            self._link(session, candidate)
        session.flush()
        self._audit_decision(session, reader, candidate, f"linkage.{decision}")

    def _audit_decision(
        self, session: Session, reader: Caller, candidate: LinkageCandidate, action: str
    ) -> None:
        event: dict[str, Any] = {
            "action": action,
            "actor": reader.actor(),
            "candidate_id": candidate.id,
            "score": candidate.score,
            "subjects": [self.audit_pseudonyms.audit_pseudonym(s)
                         for s in (candidate.subject_a, candidate.subject_b)],
        }
        if candidate.first_confirmed_by is not None:
            event["first_reviewer"] = {"partner": candidate.first_confirmed_partner,
                                       "client": candidate.first_confirmed_by}
        self.audit.append(session, event)

    def _scope(self, reader: Caller) -> frozenset[str]:
        """The covenants where ``reader`` is a reviewer; 403 when there are none."""
        scope = self.reviewers().get(reader.partner_id, frozenset())
        if not scope:
            raise forbidden(
                "not-a-linkage-reviewer",
                f"only partners with the covenant role {REVIEWER_ROLE!r} review linkage candidates",
            )
        return scope

    def _candidate(
        self, session: Session, scope: frozenset[str], candidate_id: str
    ) -> LinkageCandidate:
        candidate = session.scalars(
            select(LinkageCandidate)
            .where(LinkageCandidate.id == candidate_id, _in_scope(scope))
            .with_for_update()
        ).one_or_none() if is_uuid(candidate_id) else None
        if candidate is None:
            # A pair outside the reviewer's covenants is as absent as one that never existed.
            raise not_found("linkage-candidate", f"no linkage candidate {candidate_id!r}")
        return candidate

    def _stored(self, session: Session, subject_id: str, encoding: Encoding) -> bool:
        """Store the subject's filter and buckets; False when it has a filter already."""
        record = {"subject_id": subject_id, "key_version": self.key_version,
                  "bloom": self.encoder.sealed(encoding.bloom, subject_id)}
        if not insert_absent(session, LinkageRecord, [record], unique=("subject_id",),
                             returning="subject_id"):
            return False
        insert_rows(session, LinkageBlock,
                    [{"block_key": k, "subject_id": subject_id} for k in encoding.blocks])
        return True

    def _propose(self, session: Session, subject_id: str, encoding: Encoding) -> None:
        matches, crowded = self._matches(session, subject_id, encoding)
        best = sorted(matches, key=lambda match: (-match[1], match[0]))
        crowded = crowded or len(best) > MAX_CANDIDATES_PER_SUBJECT
        candidates = [
            {"id": str(uuid.uuid4()), "subject_a": min(subject_id, other),
             "subject_b": max(subject_id, other), "score": score, "status": PENDING,
             "too_many_look_alikes": crowded}
            for other, score in best[:MAX_CANDIDATES_PER_SUBJECT]
        ]
        # A pair proposed before (and perhaps rejected) is never proposed again.
        insert_absent(session, LinkageCandidate, candidates, unique=("subject_a", "subject_b"),
                      returning="id")

    def _matches(
        self, session: Session, subject_id: str, encoding: Encoding
    ) -> tuple[list[tuple[str, float]], bool]:
        """Pairs reaching the threshold among a bounded share of each bucket, and whether a
        bucket held more look-alikes than were compared."""
        neighbours: dict[str, bytes] = {}
        crowded = False
        for block in sorted(encoding.blocks):
            rows = core(session).execute(_BLOCK_NEIGHBOURS, {
                "block": block, "subject_id": subject_id, "key_version": self.key_version,
            }).all()
            crowded = crowded or len(rows) > MAX_COMPARED_PER_BLOCK
            neighbours.update((other, sealed) for other, sealed in rows[:MAX_COMPARED_PER_BLOCK])
        pairs = []
        for other, sealed in neighbours.items():
            bloom = self.encoder.opened(sealed, other)  # an altered filter opens to nothing
            score = 0.0 if bloom is None else match_score(encoding.bloom, bloom)
            if score >= self.threshold:
                pairs.append((other, round(score, 4)))
        return pairs, crowded

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

    def _group(self, session: Session, subject_id: str) -> set[str]:
        """Every subject linked with ``subject_id``: its canonical subject and the aliases."""
        canonical = self.canonical(session, subject_id)
        aliases = session.scalars(select(LinkageAlias.subject_id).where(
            LinkageAlias.canonical_subject_id == canonical))
        return {canonical, *aliases}

    def _relink(self, session: Session, members: set[str]) -> None:
        """Rebuild the aliases of ``members`` from the confirmed links among them: each
        connected group keeps its oldest subject as canonical, as :meth:`_link` does."""
        session.execute(delete(LinkageAlias).where(LinkageAlias.subject_id.in_(members)))
        links = session.scalars(select(LinkageCandidate).where(
            LinkageCandidate.status == CONFIRMED, LinkageCandidate.subject_a.in_(members),
            LinkageCandidate.subject_b.in_(members))).all()
        oldest_first = session.scalars(select(Subject.id).where(Subject.id.in_(members))
                                       .order_by(Subject.created_at, Subject.id)).all()
        placed: set[str] = set()
        for keeper in oldest_first:
            if keeper in placed:
                continue
            placed.add(keeper)
            for member, link_id in _reachable(keeper, links):
                placed.add(member)
                session.add(LinkageAlias(subject_id=member, canonical_subject_id=keeper,
                                         candidate_id=link_id))
        session.flush()

    def _view(
        self, session: Session, reader: Caller, candidate: LinkageCandidate
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
            "awaiting_second_confirmation": (candidate.status == PENDING
                                             and candidate.first_confirmed_by is not None),
            "features": self._agreement(session, candidate),
            "too_many_look_alikes": candidate.too_many_look_alikes,
        }

    def _agreement(self, session: Session, candidate: LinkageCandidate) -> dict[str, str]:
        """Which fields of the pair agreed, from the two stored filters; empty when either
        is gone or under an older linkage key (it can no longer be opened)."""
        rows = session.execute(select(LinkageRecord.subject_id, LinkageRecord.bloom).where(
            LinkageRecord.subject_id.in_((candidate.subject_a, candidate.subject_b)),
            LinkageRecord.key_version == self.key_version)).all()
        blooms = [self.encoder.opened(row.bloom, row.subject_id) for row in rows]
        if len(blooms) != 2 or None in blooms:
            return {}
        left, right = (b for b in blooms if b is not None)
        return agreement(compare(left, right))


def _in_scope(scope: frozenset[str]) -> ColumnElement[bool]:
    """Candidates whose two subjects were both exchanged under one covenant of ``scope``."""
    side_a, side_b = aliased(LinkageCovenant), aliased(LinkageCovenant)
    return exists().where(
        side_a.subject_id == LinkageCandidate.subject_a,
        side_b.subject_id == LinkageCandidate.subject_b,
        side_a.covenant == side_b.covenant,
        side_a.covenant.in_(sorted(scope)),
    )


def _reachable(start: str, links: Iterable[LinkageCandidate]) -> list[tuple[str, str]]:
    """Every subject joined to ``start`` by ``links``, with the link that reached it."""
    edges: dict[str, list[tuple[str, str]]] = {}
    for link in links:
        edges.setdefault(link.subject_a, []).append((link.subject_b, link.id))
        edges.setdefault(link.subject_b, []).append((link.subject_a, link.id))
    seen, frontier, reached = {start}, [start], []
    while frontier:
        for neighbour, link_id in edges.get(frontier.pop(), []):
            if neighbour not in seen:
                seen.add(neighbour)
                frontier.append(neighbour)
                reached.append((neighbour, link_id))
    return reached


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
    session.execute(delete(LinkageCovenant).where(LinkageCovenant.subject_id == subject_id))
    session.execute(delete(LinkageRecord).where(LinkageRecord.subject_id == subject_id))



@dataclass(frozen=True)
class ShredAndForget:
    """Shreds an identity and its Bloom-filter encoding together.

    A filter left behind would still let the broker recognise the erased person, so every
    shred path (retention, the operator's ``identity shred``) goes through this.
    """

    vault: Shredder

    def shred(self, session: Session, subject_id: str) -> None:
        self.vault.shred(session, subject_id)
        forget_subject(session, subject_id)

    def audit_pseudonym(self, subject_id: str) -> str:
        return self.vault.audit_pseudonym(subject_id)


def linked_subjects(session: Session, subject_ids: Iterable[str]) -> set[str]:
    """``subject_ids`` with every subject a confirmed link made the same person as one of them.

    Aliases are flat (each points at its canonical subject), so two lookups do: the canonical
    subjects of the ids, then every alias of those.
    """
    found = set(subject_ids)
    canonical = found | set(session.scalars(
        select(LinkageAlias.canonical_subject_id).where(LinkageAlias.subject_id.in_(found))))
    aliases = session.scalars(
        select(LinkageAlias.subject_id).where(LinkageAlias.canonical_subject_id.in_(canonical)))
    return canonical | set(aliases)
