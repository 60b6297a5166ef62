"""End-to-end verification of the live audit log, straight from its database rows.

Checks what :mod:`audit.verify` checks on an export, and reports in the same
:class:`audit.verify.Report`, plus the stored tree the proofs are served from:

* every checkpoint's Ed25519 signature under the trusted key(s), in strictly increasing size;
* the integrated entries sit at indexes 0, 1, 2, ... without gap, and each entry's text
  hashes to its stored leaf hash: a failure names that index;
* every other column stored beside the hashed text says what the text says: ``event_id``
  and ``recorded_at`` (lookups and period searches go by the columns, so an edited column
  would make the API answer with another entry). ``id`` is only the write order the
  sequencer consumed; the tree index, checked above, is the log's order;
* every stored interior node equals the node recomputed from the leaves (a forged node would
  make the API hand out proofs for a different tree): a failure names the first index the
  node covers, and the stored node count matches the tree;
* the head recomputed over the first ``tree_size`` leaves equals each checkpoint's signed
  root: a failure names the first index after the last checkpoint that still verified;
* no checkpoint signs more entries than the log holds.

Rows are streamed in tree order, so memory stays flat however long the log is.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from audit import merkle
from audit.export import Progress as ExportProgress
from audit.export import integrated_entries
from audit.log import ENTRY_TIME_FORMAT
from audit.models import AuditEntry, AuditSigningKey, AuditTreeNode, Checkpoint
from audit.note import CheckpointBody, key_id, signature_valid
from audit.verify import Report, Tampered

STREAM_BATCH = 5000
# Recomputed nodes are compared with the stored ones in groups of this many per query.
NODE_BATCH = 2000


@dataclass
class _Progress:
    entries: int = 0
    checkpoints: int = 0
    signed_size: int = 0


def stored_keys(session: Session) -> dict[str, Ed25519PublicKey]:
    """The keys the log says it signed with, each kept only if its id matches its bytes."""
    keys = {}
    for row in session.scalars(select(AuditSigningKey)):
        public_key = Ed25519PublicKey.from_public_bytes(row.public_key)
        if key_id(public_key) == row.key_id:
            keys[row.key_id] = public_key
    return keys


def verify_database(
    session: Session, trusted_keys: dict[str, Ed25519PublicKey], *, key_trusted: bool = True,
    told: ExportProgress = None,
) -> Report:
    """Verify the whole log; ``trusted_keys`` maps key id to the keys checkpoints may use.

    ``key_trusted`` says whether those keys came from outside the database (the keyring or a
    PEM file) rather than from the log's own key table; it only changes the report's wording.
    ``told`` hears ("verify", entries checked, entries to check) every batch.
    """
    progress = _Progress()
    try:
        _verify(session, trusted_keys, progress, told)
    except Tampered as finding:
        return _report(progress, key_trusted, finding)
    return _report(progress, key_trusted)


def _verify(
    session: Session, keys: dict[str, Ed25519PublicKey], progress: _Progress,
    told: ExportProgress,
) -> None:
    total = integrated_entries(session)
    tree = merkle.CompactRange()
    pending_nodes: dict[merkle.NodeId, bytes] = {}
    checkpoints = _checkpoints(session, keys, progress)
    upcoming = next(checkpoints, None)
    for position, row in enumerate(_entries(session)):
        index, leaf, entry = row.index, row.leaf, row.entry
        if index != position:
            raise Tampered(f"tree index {position} is missing (next is {index})", index=position)
        if merkle.leaf_hash(entry.encode("utf-8")) != leaf:
            raise Tampered(f"entry {position} does not hash to its leaf hash", index=position)
        _check_columns(position, row)
        for level, node_index, node in tree.append(leaf):
            pending_nodes[(level, node_index)] = node
        progress.entries = tree.size
        if told is not None and (tree.size % STREAM_BATCH == 0 or tree.size == total):
            told("verify", tree.size, total)
        if len(pending_nodes) >= NODE_BATCH:
            _compare_nodes(session, pending_nodes)
        while upcoming is not None and upcoming.tree_size == tree.size:
            _compare_nodes(session, pending_nodes)
            _check_root(tree, upcoming, progress)
            upcoming = next(checkpoints, None)
    _compare_nodes(session, pending_nodes)
    if upcoming is not None:
        raise Tampered(
            f"checkpoint #{progress.checkpoints - 1} signs {upcoming.tree_size} entries, "
            f"the log holds {tree.size}",
            index=tree.size,
        )
    expected = tree.size - tree.size.bit_count()
    stored = session.scalar(select(func.count()).select_from(AuditTreeNode)) or 0
    if stored != expected:
        raise Tampered(
            f"the stored tree holds {stored} interior nodes, a tree of {tree.size} entries "
            f"has {expected}",
            index=tree.size,
        )


@dataclass(frozen=True)
class _StoredEntry:
    index: int
    leaf: bytes
    entry: str
    event_id: str
    recorded_at: datetime


def _entries(session: Session) -> Iterator[_StoredEntry]:
    rows = session.execute(
        select(AuditEntry.tree_index, AuditEntry.leaf_hash, AuditEntry.entry,
               AuditEntry.event_id, AuditEntry.recorded_at)
        .where(AuditEntry.tree_index.is_not(None))
        .order_by(AuditEntry.tree_index)
        .execution_options(yield_per=STREAM_BATCH)
    )
    for index, leaf, entry, event_id, recorded_at in rows:
        # The filter excludes NULL; the test only narrows the column's type.
        if index is not None:
            yield _StoredEntry(index, bytes(leaf), entry, event_id, recorded_at)


def _check_columns(position: int, row: _StoredEntry) -> None:
    """The columns beside the hashed text against the text (its hash is already checked)."""
    try:
        hashed = json.loads(row.entry)
    except ValueError:
        hashed = None
    if not isinstance(hashed, dict):
        raise Tampered(f"entry {position} is not a JSON object", index=position)
    stored = {"event_id": row.event_id,
              "recorded_at": row.recorded_at.strftime(ENTRY_TIME_FORMAT)}
    for column, value in stored.items():
        if hashed.get(column) != value:
            raise Tampered(f"entry {position}: the stored {column} column differs from the "
                           "hashed entry", index=position)


def _checkpoints(
    session: Session, keys: dict[str, Ed25519PublicKey], progress: _Progress
) -> Iterator[Checkpoint]:
    """Checkpoints by size, each yielded only after its signature and order verified."""
    previous = 0
    rows = session.scalars(
        select(Checkpoint).order_by(Checkpoint.tree_size).execution_options(
            yield_per=STREAM_BATCH
        )
    )
    for position, checkpoint in enumerate(rows):
        public_key = keys.get(checkpoint.key_id)
        if public_key is None:
            raise Tampered(f"signed by unknown key {checkpoint.key_id}", checkpoint=position)
        body = CheckpointBody(
            checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at
        )
        if not signature_valid(public_key, body, checkpoint.signature):
            raise Tampered(
                f"signature does not match checkpoint of size {checkpoint.tree_size}",
                checkpoint=position,
            )
        if checkpoint.tree_size <= previous:
            raise Tampered(
                f"checkpoint of size {checkpoint.tree_size} follows one of size {previous}",
                checkpoint=position,
            )
        previous = checkpoint.tree_size
        progress.checkpoints = position + 1
        yield checkpoint


def _check_root(tree: merkle.CompactRange, checkpoint: Checkpoint, progress: _Progress) -> None:
    if tree.root() != checkpoint.root_hash:
        raise Tampered(
            f"entries {progress.signed_size}..{tree.size - 1} do not match the root signed "
            f"by checkpoint #{progress.checkpoints - 1}",
            index=progress.signed_size,
        )
    progress.signed_size = tree.size


def _compare_nodes(session: Session, expected: dict[merkle.NodeId, bytes]) -> None:
    """Compare recomputed interior nodes with the stored ones, then forget them."""
    if not expected:
        return
    by_level: dict[int, list[int]] = defaultdict(list)
    for level, index in expected:
        by_level[level].append(index)
    rows = session.execute(
        select(AuditTreeNode.level, AuditTreeNode.node_index, AuditTreeNode.hash).where(
            or_(*(
                and_(AuditTreeNode.level == level, AuditTreeNode.node_index.in_(indexes))
                for level, indexes in by_level.items()
            ))
        )
    )
    stored = {(level, index): bytes(node) for level, index, node in rows}
    wrong = [node for node, value in expected.items() if stored.get(node) != value]
    expected.clear()
    if wrong:
        # A changed leaf spoils every node above it; the lowest one pins it down best.
        level, index = min(wrong)
        first, last = index << level, ((index + 1) << level) - 1
        state = "missing" if (level, index) not in stored else "wrong"
        raise Tampered(
            f"stored tree node ({level}, {index}) over entries {first}..{last} is {state}",
            index=first,
        )


def _report(progress: _Progress, key_trusted: bool, finding: Tampered | None = None) -> Report:
    return Report(
        entries=progress.entries,
        checkpoints=progress.checkpoints,
        signed_size=progress.signed_size,
        key_trusted=key_trusted,
        failure=None if finding is None else finding.reason,
        bad_index=None if finding is None else finding.index,
        bad_checkpoint=None if finding is None else finding.checkpoint,
    )


def pending_entries(session: Session) -> int:
    """Entries written but not yet integrated: not covered by this verification yet."""
    return session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.tree_index.is_(None))
    ) or 0
