"""Reading the audit log: checkpoints, public keys, proofs and the privacy officer's search.

Who may read what (the rules are :mod:`gateway.auditing.projection`'s):

* a reader with ``audit:read`` (a privacy officer) sees every entry, whole;
* a reader with only ``audit:own`` sees the entries its own partner organisation took part in
  (as actor, or as a recipient that received something), projected to what it already knows;
  anything else is as absent as an entry that never existed (404, or not in the results).
  Filters match the projection, so no filter tells such a reader more than the entries
  themselves; the ``pseudonym`` filter (a person's audit pseudonym) is the officer's only.

Every read of entry content (a search page, an inclusion proof) is itself appended to the log
in the same transaction as the read, so a read that cannot be audited does not happen.
Checkpoints, consistency proofs and public keys reveal no entry content and are not audited.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from audit.export import checkpoint_fields
from audit.interfaces import AuditError
from audit.log import AuditLog
from audit.models import AuditEntry, AuditSigningKey, Checkpoint
from audit.note import TIME_FORMAT, CheckpointBody, key_id, raw_public_key, signed_note
from gateway.auditing.projection import acted, officer_view, partner_view, takes_part
from gateway.auditing.queries import SearchQuery, encode_cursor
from gateway.db import transaction
from gateway.delivery.models import Delivery
from gateway.keys import Keyring
from gateway.ports import Caller
from gateway.problems import FieldError, Problem, forbidden, not_found, validation_failed

CHECKPOINT_KEY = "audit-checkpoint"
# Rows fetched per query while searching, and the most rows one search request examines in
# Python. A request that reaches the budget returns what it found with a cursor to go on.
SEARCH_BATCH = 500
SEARCH_SCAN_BUDGET = 10_000


@dataclass(frozen=True)
class Reader(Caller):
    """A caller reading the log, and whether it may see all of it (the privacy officer's right)."""

    sees_all: bool = False

    def can_see(self, entry: Mapping[str, Any]) -> bool:
        return self.sees_all or takes_part(entry, self.partner_id)

    def view(self, session: Session, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The entry as this reader may see it (call only after :meth:`can_see`)."""
        if self.sees_all:
            return officer_view(entry)
        return partner_view(entry, self.partner_id, _own_subjects(session, entry,
                                                                  self.partner_id))


@dataclass(frozen=True)
class SearchPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def involves(entry: Mapping[str, Any], partner: str) -> bool:
    """Did ``partner`` take part in the entry's event: as its actor or as a recipient?"""
    actor = entry.get("actor")
    if isinstance(actor, Mapping) and actor.get("partner") == partner:
        return True
    recipients = entry.get("recipients")
    return isinstance(recipients, list) and partner in recipients


def audit_pseudonyms(entry: Mapping[str, Any]) -> list[str]:
    """The audit pseudonyms an entry names: its subjects' and any identities it disclosed."""
    found: list[str] = []
    for subject in _list(entry.get("subjects")):
        if isinstance(subject, Mapping) and isinstance(subject.get("audit_pseudonym"), str):
            found.append(subject["audit_pseudonym"])
    found.extend(p for p in _list(entry.get("identities_disclosed")) if isinstance(p, str))
    return found


def decision_outcomes(entry: Mapping[str, Any]) -> set[bool]:
    """The ``allowed`` values of the entry's per-recipient policy decisions."""
    return {
        d["allowed"]
        for d in _list(entry.get("decisions"))
        if isinstance(d, Mapping) and isinstance(d.get("allowed"), bool)
    }


def matches(entry: Mapping[str, Any], query: SearchQuery) -> bool:
    """The exact filter; the SQL ``LIKE`` prefilter only narrows the rows that reach it.

    ``decision=allowed`` keeps entries where some recipient was allowed, ``refused`` those
    where some recipient was refused; an exchange allowed for one recipient and refused for
    another matches both.
    """
    if query.partner is not None and not involves(entry, query.partner):
        return False
    if query.action is not None and entry.get("action") != query.action:
        return False
    if query.covenant is not None and entry.get("covenant") != query.covenant:
        return False
    if query.decision is not None and (query.decision == "allowed") not in decision_outcomes(
        entry
    ):
        return False
    return query.pseudonym is None or query.pseudonym in audit_pseudonyms(entry)


class AuditReader:
    """The read side of the audit log, for the HTTP API."""

    def __init__(
        self, session_factory: sessionmaker[Session], audit: AuditLog, keyring: Keyring
    ) -> None:
        self._session_factory = session_factory
        self._audit = audit
        self._keyring = keyring

    def latest_checkpoint(self) -> dict[str, Any]:
        with transaction(self._session_factory) as session:
            checkpoint = self._audit.latest_checkpoint(session)
            if checkpoint is None:
                raise not_found("checkpoint", "the audit log has not been checkpointed yet")
            return checkpoint_view(checkpoint)

    def latest_signed_note(self) -> str:
        """The latest checkpoint as a C2SP signed note, named by its origin, as witnesses
        fetch it."""
        with transaction(self._session_factory) as session:
            checkpoint = self._audit.latest_checkpoint(session)
            if checkpoint is None:
                raise not_found("checkpoint", "the audit log has not been checkpointed yet")
            return _signed_note(session, checkpoint)

    def signed_notes(self, tree_sizes: list[int]) -> dict[int, str]:
        """The checkpoints of these sizes as C2SP signed notes (sizes never signed are left
        out): what a browser or witness verifies without trusting any other field."""
        with transaction(self._session_factory) as session:
            rows = session.scalars(select(Checkpoint).where(Checkpoint.tree_size.in_(tree_sizes)))
            return {row.tree_size: _signed_note(session, row) for row in rows}

    def public_keys(self) -> list[dict[str, Any]]:
        """The current checkpoint key first, then every key earlier checkpoints used."""
        current = self._keyring.signing_key(CHECKPOINT_KEY).public_key()
        current_id = key_id(current)
        keys = [_key_view(current, first_used_at=None, current=True)]
        with transaction(self._session_factory) as session:
            stored = session.scalars(
                select(AuditSigningKey).order_by(AuditSigningKey.first_used_at)
            ).all()
            for row in stored:
                public_key = Ed25519PublicKey.from_public_bytes(row.public_key)
                if row.key_id == current_id:
                    keys[0]["first_used_at"] = row.first_used_at.strftime(TIME_FORMAT)
                else:
                    keys.append(
                        _key_view(public_key, row.first_used_at.strftime(TIME_FORMAT), False)
                    )
        return keys

    def inclusion_proof(
        self, reader: Reader, event_id: str, tree_size: int | None
    ) -> dict[str, Any]:
        with transaction(self._session_factory) as session:
            row = session.execute(
                select(AuditEntry.entry, AuditEntry.tree_index).where(
                    AuditEntry.event_id == event_id
                )
            ).first()
            entry: dict[str, Any] = {} if row is None else json.loads(row.entry)
            if row is None or not reader.can_see(entry):
                raise not_found("audit-event", f"no audit event {event_id!r} you may read")
            if row.tree_index is None:
                raise _not_sequenced(event_id)
            size = self._proof_size(session, row.tree_index, tree_size)
            try:
                proof = self._audit.inclusion_proof(session, event_id, size)
            except AuditError as error:
                # The bounds were checked above; what is left is a damaged stored tree.
                raise Problem(
                    500, "audit-tree-damaged", "Audit tree damaged", str(error)
                ) from error
            checkpoint = session.scalars(
                select(Checkpoint).where(Checkpoint.tree_size == size)
            ).first()
            self._audit.append(session, {
                "action": "audit.proof_read",
                "actor": reader.actor(),
                "access": "all" if reader.sees_all else "own",
                "event_ids": [event_id],
                "tree_size": size,
            })
            return {
                "event_id": event_id,
                "leaf_index": proof.leaf_index,
                "tree_size": proof.tree_size,
                "leaf_hash": _b64(proof.leaf_hash),
                "hashes": [_b64(node) for node in proof.hashes],
                # The hashed text names audit pseudonyms: only the officer gets it. A partner
                # gets its view; the proof then shows the leaf is in the log, not its content.
                "entry": row.entry if reader.sees_all else None,
                "view": reader.view(session, entry),
                "checkpoint": None if checkpoint is None else checkpoint_view(checkpoint),
            }

    def _proof_size(self, session: Session, leaf_index: int, tree_size: int | None) -> int:
        if tree_size is None:
            signed = session.scalar(select(func.max(Checkpoint.tree_size)))
            if signed is None or signed <= leaf_index:
                raise _not_sequenced("the event")
            return int(signed)
        current = self._audit.tree_size(session)
        if not leaf_index < tree_size <= current:
            raise validation_failed([FieldError(
                "/tree_size",
                f"the event sits at index {leaf_index}; choose a size from {leaf_index + 1} "
                f"to the log's current size {current}",
            )])
        return tree_size

    def consistency_proof(self, first: int, second: int) -> dict[str, Any]:
        with transaction(self._session_factory) as session:
            current = self._audit.tree_size(session)
            if second > current:
                raise validation_failed([FieldError(
                    "/second", f"the log holds {current} sequenced entries"
                )])
            try:
                hashes = self._audit.consistency_proof(session, first, second)
            except AuditError as error:
                raise validation_failed([FieldError("/first", str(error))]) from error
        return {"first": first, "second": second, "hashes": [_b64(node) for node in hashes]}

    def checkpoint_history(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` checkpoints, newest first, each with the consistency proof
        from the checkpoint before it (``None`` for the log's first checkpoint), so a
        verifier can check that each one only extends its predecessor. Like a single
        checkpoint, they reveal no entry content and are not audited."""
        with transaction(self._session_factory) as session:
            rows = session.scalars(
                select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(limit + 1)
            ).all()
            history: list[dict[str, Any]] = []
            for position, newer in enumerate(rows[:limit]):
                older = rows[position + 1] if position + 1 < len(rows) else None
                proof = None if older is None else [_b64(node) for node in (
                    self._audit.consistency_proof(session, older.tree_size, newer.tree_size))]
                history.append({**checkpoint_view(newer), "consistency_with_previous": proof,
                                "previous_tree_size": None if older is None
                                else older.tree_size})
        return history

    def search(self, reader: Reader, query: SearchQuery, result_format: str) -> SearchPage:
        """One page of matching entries in write order, audited as ``audit.searched``.

        At most :data:`SEARCH_SCAN_BUDGET` candidate rows are examined; a page may then hold
        fewer than ``limit`` entries (even none) and still carry a cursor: go on while
        ``next_cursor`` is set.
        """
        if query.pseudonym is not None and not reader.sees_all:
            # Matching a guessed audit pseudonym is a dictionary attack on the log.
            raise forbidden("pseudonym-filter-needs-audit-read",
                            "only the privacy officer (audit:read) searches by pseudonym")
        with transaction(self._session_factory) as session:
            items, last_examined, exhausted = self._collect(session, reader, query)
            if len(items) > query.limit:
                items = items[: query.limit]
                next_cursor: str | None = encode_cursor(items[-1]["_id"])
            elif exhausted:
                next_cursor = None
            else:
                next_cursor = encode_cursor(last_examined)
            self._audit.append(session, {
                "action": "audit.searched",
                "actor": reader.actor(),
                "access": "all" if reader.sees_all else "own",
                "filters": query.filters(),
                "format": result_format,
                "event_ids": [item["event_id"] for item in items],
            })
        for item in items:
            del item["_id"]
        return SearchPage(items, next_cursor)

    def _collect(
        self, session: Session, reader: Reader, query: SearchQuery
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """Up to ``limit + 1`` visible matches after the cursor; the last id examined; and
        whether the log was read to its end."""
        items: list[dict[str, Any]] = []
        after = query.after_id
        examined = 0
        conditions = _prefilter(reader, query)
        while examined < SEARCH_SCAN_BUDGET:
            batch = min(SEARCH_BATCH, SEARCH_SCAN_BUDGET - examined)
            rows = session.execute(
                select(AuditEntry.id, AuditEntry.event_id, AuditEntry.recorded_at,
                       AuditEntry.tree_index, AuditEntry.entry)
                .where(AuditEntry.id > after, *conditions)
                .order_by(AuditEntry.id)
                .limit(batch)
            ).all()
            for row in rows:
                examined += 1
                after = row.id
                entry = json.loads(row.entry)
                if not reader.can_see(entry):
                    continue
                view = reader.view(session, entry)
                if matches(view, query):
                    items.append({
                        "_id": row.id,
                        "event_id": row.event_id,
                        "recorded_at": row.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        "tree_index": row.tree_index,
                        "entry": view,
                    })
                    if len(items) > query.limit:
                        return items, after, False
            if len(rows) < batch:
                return items, after, True
        return items, after, False


def _signed_note(session: Session, checkpoint: Checkpoint) -> str:
    stored = session.get(AuditSigningKey, checkpoint.key_id)
    if stored is None:
        raise AuditError(f"checkpoint key {checkpoint.key_id} is not on record")
    body = CheckpointBody(checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash,
                          checkpoint.issued_at)
    return signed_note(body.text(), checkpoint.origin,
                       Ed25519PublicKey.from_public_bytes(stored.public_key),
                       checkpoint.signature)


def _own_subjects(
    session: Session, entry: Mapping[str, Any], partner: str
) -> list[dict[str, Any]]:
    """The persons ``partner`` received through the entry's exchange, as its inbox shows them."""
    exchange_id = entry.get("exchange_id")
    if (not isinstance(exchange_id, str) or not isinstance(entry.get("decisions"), list)
            or acted(entry, partner)):  # the sender is shown roles, never pseudonyms
        return []
    payloads = session.scalars(select(Delivery.payload).where(
        Delivery.exchange_id == exchange_id, Delivery.recipient == partner))
    return [{"role": s["role"], "pseudonym": s["pseudonym"]}
            for payload in payloads for s in payload.get("subjects", [])]


def checkpoint_view(checkpoint: Checkpoint) -> dict[str, Any]:
    body = CheckpointBody(
        checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at
    )
    return {**checkpoint_fields(checkpoint), "note": body.text()}


def _prefilter(reader: Reader, query: SearchQuery) -> list[ColumnElement[bool]]:
    """SQL conditions every match satisfies, so most non-matching rows never reach Python.

    Entries are canonical JSON (RFC 8785), so a string value occurs in the text exactly as its
    canonical encoding; ``LIKE`` may still let through rows where it occurs under another key
    (and SQLite's ``LIKE`` ignores ASCII case), which :func:`matches` then drops.
    """
    conditions: list[ColumnElement[bool]] = []
    if query.recorded_from is not None:
        conditions.append(AuditEntry.recorded_at >= query.recorded_from)
    if query.recorded_to is not None:
        conditions.append(AuditEntry.recorded_at < query.recorded_to)
    needles = [query.partner, query.action, query.covenant, query.pseudonym]
    if not reader.sees_all:
        needles.append(reader.partner_id)
    for needle in needles:
        if needle is not None:
            conditions.append(AuditEntry.entry.contains(_json_string(needle), autoescape=True))
    if query.decision is not None:
        literal = '"allowed":true' if query.decision == "allowed" else '"allowed":false'
        conditions.append(AuditEntry.entry.contains(literal, autoescape=True))
    return conditions


def _json_string(value: str) -> str:
    return bytes(rfc8785.dumps(value)).decode("utf-8")


def _key_view(
    public_key: Ed25519PublicKey, first_used_at: str | None, current: bool
) -> dict[str, Any]:
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return {
        "key_id": key_id(public_key),
        "algorithm": "Ed25519",
        "public_key": _b64(raw_public_key(public_key)),
        "public_key_pem": pem,
        "first_used_at": first_used_at,
        "current": current,
    }


def _not_sequenced(event_id: str) -> Problem:
    return Problem(
        409, "audit-event-not-sequenced", "Not yet sequenced",
        f"{event_id} is not yet covered by a signed checkpoint; retry shortly",
        headers={"Retry-After": "5"},
    )


def _list(value: Any) -> Iterator[Any]:
    return iter(value) if isinstance(value, list) else iter(())


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")
