"""Sequencer, checkpoints and the proofs the database answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from audit import merkle
from audit.interfaces import AuditError
from audit.log import SEQUENCER_LOCK_KEY, AuditLog, CheckpointSigner, Sequencer
from audit.models import AuditEntry, AuditSigningKey, AuditTreeNode, Checkpoint
from audit.note import CheckpointBody, signature_valid
from gateway import db
from gateway.keys import Keyring

RecordEvents = Callable[[int], list[str]]


def _leaves_in_write_order(session: Session) -> list[bytes]:
    return list(session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.id)))


def _checkpoints(session: Session) -> list[Checkpoint]:
    return list(session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size)))


def test_sequencer_assigns_contiguous_indexes_in_write_order_across_batches(
    session: Session, sequencer: Sequencer, record_events: RecordEvents
) -> None:
    record_events(10)
    assert sequencer.run_once() == 10
    rows = session.execute(select(AuditEntry.id, AuditEntry.tree_index).order_by(AuditEntry.id))
    assert [index for _, index in rows] == list(range(10))
    assert sequencer.run_once() == 0


def test_one_run_integrates_at_most_its_batch_budget_and_signs_what_it_did(
    session: Session, connection: Connection, signer: CheckpointSigner, record_events: RecordEvents
) -> None:
    record_events(10)
    bounded = Sequencer(db.make_session_factory(connection), signer, batch_size=4, max_batches=2)
    assert bounded.run_once() == 8
    assert [c.tree_size for c in _checkpoints(session)] == [8]
    assert bounded.run_once() == 2
    assert [c.tree_size for c in _checkpoints(session)] == [8, 10]


def test_sequencer_checkpoints_the_tree_head_once_per_growth(
    session: Session, sequencer: Sequencer, record_events: RecordEvents
) -> None:
    record_events(10)
    sequencer.run_once()
    sequencer.run_once()
    record_events(3)
    sequencer.run_once()
    leaves = _leaves_in_write_order(session)
    checkpoints = _checkpoints(session)
    assert [(c.tree_size, c.root_hash) for c in checkpoints] == [
        (10, merkle.root_hash(leaves[:10])),
        (13, merkle.root_hash(leaves)),
    ]


def test_sequencer_stores_every_completed_subtree_once(
    session: Session, sequencer: Sequencer, record_events: RecordEvents
) -> None:
    record_events(7)
    sequencer.run_once()
    record_events(6)
    sequencer.run_once()
    stored = session.execute(select(AuditTreeNode.level, AuditTreeNode.node_index)).all()
    # A tree of n leaves has n - popcount(n) complete interior subtrees: 13 - 3.
    assert len(stored) == len(set(stored)) == 10


def test_checkpoint_signature_verifies_under_the_keyrings_public_key(
    session: Session,
    sequencer: Sequencer,
    signer: CheckpointSigner,
    keyring: Keyring,
    record_events: RecordEvents,
) -> None:
    record_events(5)
    sequencer.run_once()
    (checkpoint,) = _checkpoints(session)
    key = session.get(AuditSigningKey, checkpoint.key_id)
    assert key is not None
    assert key.public_key == signer.public_key
    assert checkpoint.key_id == signer.key_id
    body = CheckpointBody(
        checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at
    )
    public_key = keyring.signing_key("audit-checkpoint").public_key()
    assert signature_valid(public_key, body, checkpoint.signature)
    forged = CheckpointBody(checkpoint.origin, 6, checkpoint.root_hash, checkpoint.issued_at)
    assert not signature_valid(public_key, forged, checkpoint.signature)


def test_checkpoint_note_has_origin_size_root_and_time(signer: CheckpointSigner) -> None:
    signed = signer.sign(3, bytes(range(32)), datetime(2026, 11, 29, 5, 0, 7, 999, tzinfo=UTC))
    assert signed.body.text() == (
        "ketenpoort/audit\n3\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
        "time 2026-11-29T05:00:07Z\n"
    )


def test_inclusion_proofs_from_the_database_verify_for_every_entry(
    session: Session, sequencer: Sequencer, audit_log: AuditLog, record_events: RecordEvents
) -> None:
    event_ids = record_events(11)
    sequencer.run_once()
    leaves = _leaves_in_write_order(session)
    for tree_size in (5, 11):
        root = merkle.root_hash(leaves[:tree_size])
        for index, event_id in enumerate(event_ids[:tree_size]):
            proof = audit_log.inclusion_proof(session, event_id, tree_size)
            assert proof.leaf_index == index
            assert merkle.verify_inclusion(index, tree_size, proof.leaf_hash, proof.hashes, root)


def test_consistency_proofs_from_the_database_link_the_checkpoints(
    session: Session, sequencer: Sequencer, audit_log: AuditLog, record_events: RecordEvents
) -> None:
    record_events(6)
    sequencer.run_once()
    record_events(7)
    sequencer.run_once()
    first, second = _checkpoints(session)
    proof = audit_log.consistency_proof(session, first.tree_size, second.tree_size)
    assert merkle.verify_consistency(
        first.tree_size, second.tree_size, proof, first.root_hash, second.root_hash
    )
    leaves = _leaves_in_write_order(session)
    for older in range(1, 14):
        assert audit_log.consistency_proof(session, older, 13) == tuple(
            merkle.consistency_proof(leaves, older, 13)
        )


def test_proofs_are_refused_beyond_the_integrated_tree(
    session: Session, sequencer: Sequencer, audit_log: AuditLog, record_events: RecordEvents
) -> None:
    integrated = record_events(3)
    sequencer.run_once()
    (pending,) = record_events(1)
    with pytest.raises(AuditError, match="not \\(yet\\) in the tree"):
        audit_log.inclusion_proof(session, pending, 3)
    with pytest.raises(AuditError, match="no proof"):
        audit_log.inclusion_proof(session, integrated[2], 4)
    with pytest.raises(AuditError, match="no proof"):
        audit_log.inclusion_proof(session, integrated[2], 2)
    with pytest.raises(AuditError, match="not reached"):
        audit_log.consistency_proof(session, 2, 4)
    with pytest.raises(AuditError, match="no consistency proof"):
        audit_log.consistency_proof(session, 3, 2)


def test_a_missing_tree_node_is_reported_not_papered_over(
    session: Session, sequencer: Sequencer, audit_log: AuditLog, record_events: RecordEvents
) -> None:
    event_ids = record_events(4)
    sequencer.run_once()
    # Only someone able to drop the append-only trigger can lose nodes; DDL is transactional
    # on both backends, so the test's rollback restores the trigger.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER audit_tree_nodes_sealed ON audit_tree_nodes"))
    else:
        session.execute(text("DROP TRIGGER audit_tree_nodes_DELETE_sealed"))
    session.execute(delete(AuditTreeNode).where(AuditTreeNode.level == 1))
    with pytest.raises(AuditError, match="missing"):
        audit_log.inclusion_proof(session, event_ids[0], 4)


def test_the_tree_size_counts_integrated_entries_only(
    session: Session, sequencer: Sequencer, audit_log: AuditLog, record_events: RecordEvents
) -> None:
    record_events(3)
    assert audit_log.tree_size(session) == 0
    assert audit_log.latest_checkpoint(session) is None
    sequencer.run_once()
    record_events(2)
    assert audit_log.tree_size(session) == 3
    latest = audit_log.latest_checkpoint(session)
    assert latest is not None
    assert latest.tree_size == 3


def test_sequencer_refuses_an_empty_batch_size(signer: CheckpointSigner, engine: Engine) -> None:
    with pytest.raises(ValueError, match="positive"):
        Sequencer(db.make_session_factory(engine), signer, batch_size=0)


def test_a_second_sequencer_waits_for_the_first_on_postgresql(
    engine: Engine, sequencer: Sequencer, session: Session, record_events: RecordEvents
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises sequencers with its single write lock")
    record_events(1)
    sequencer.run_once()  # the test connection now holds the sequencer lock until rollback
    with engine.connect() as other:
        taken = other.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK_KEY}
        ).scalar()
        other.rollback()
    assert taken is False
    assert session.scalar(select(func.count()).select_from(Checkpoint)) == 1
