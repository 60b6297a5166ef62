"""The checkpoint history the privacy officer's browser verifies: newest first, each checkpoint
with the consistency proof from its predecessor, and each as a C2SP signed note."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.merkle import verify_consistency
from audit.note import SIGNATURE_LINE_START
from tests.auditing.conftest import AuditWorld, exchange_event
from tests.factories import RIEC, VLAARDINGEN


def _checkpoints(world: AuditWorld, rounds: int) -> None:
    for round_ in range(rounds):
        world.append(*[exchange_event(VLAARDINGEN, [RIEC], [True], [f"ap-{round_}-{n}"])
                       for n in range(round_ + 1)])
        world.sequence()


def test_the_history_is_newest_first_with_a_proof_from_each_predecessor(
        world: AuditWorld) -> None:
    _checkpoints(world, 4)

    history = world.container.audit_reader.checkpoint_history(3)

    sizes = [c["tree_size"] for c in history]
    assert sizes == [10, 6, 3]
    assert [c["previous_tree_size"] for c in history] == [6, 3, 1]
    for checkpoint in history:
        proof = [base64.b64decode(h) for h in checkpoint["consistency_with_previous"]]
        older = next(c for c in world.container.audit_reader.checkpoint_history(4)
                     if c["tree_size"] == checkpoint["previous_tree_size"])
        assert verify_consistency(older["tree_size"], checkpoint["tree_size"], proof,
                                  base64.b64decode(older["root_hash"]),
                                  base64.b64decode(checkpoint["root_hash"]))


def test_the_logs_first_checkpoint_has_no_predecessor(world: AuditWorld) -> None:
    _checkpoints(world, 1)

    history = world.container.audit_reader.checkpoint_history(5)

    assert [(c["tree_size"], c["consistency_with_previous"]) for c in history] == [(1, None)]


def test_no_checkpoint_yet_is_an_empty_history(world: AuditWorld) -> None:
    assert world.container.audit_reader.checkpoint_history(5) == []


def test_each_signed_note_carries_the_checkpoints_own_signature(world: AuditWorld) -> None:
    _checkpoints(world, 2)
    reader = world.container.audit_reader
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(reader.public_keys()[0][
        "public_key"]))

    notes = reader.signed_notes([1, 3, 99])

    assert sorted(notes) == [1, 3]
    for size, note in notes.items():
        text, _, signature_line = note.partition("\n" + SIGNATURE_LINE_START)
        signed = base64.b64decode(signature_line.split(" ")[1])[4:]
        key.verify(signed, text.encode())  # raises when it is not the signature
        assert text.split("\n")[1] == str(size)
