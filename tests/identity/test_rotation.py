"""Master key rotation: every identity stays readable before, during and after a re-wrap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audit.log import AuditLog
from audit.models import AuditEntry
from gateway.cli import main
from gateway.clock import ManualClock
from gateway.db import transaction
from gateway.identity.interfaces import Identifiers
from gateway.identity.models import Subject
from gateway.identity.rotation import KeyRotation, RotationError, master_key_usage
from gateway.identity.services import IdentityVault
from gateway.instance import initialise
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.identity.factories import identifiers

SUBJECTS = 5


@pytest.fixture
def rotation(
    keyring_path: Path, factory: sessionmaker[Session], clock: ManualClock
) -> KeyRotation:
    return KeyRotation(keyring_path, factory, AuditLog(clock.now), actor="tester")


@pytest.fixture
def people(keyring_path: Path, factory: sessionmaker[Session]) -> dict[str, Identifiers]:
    """Subjects sealed under master version 1, by a vault that loaded the keyring at start."""
    vault = IdentityVault(Keyring.load(keyring_path), keyring_path)
    registered = {}
    with transaction(factory) as session:
        for _ in range(SUBJECTS):
            person = identifiers()
            registered[vault.register(session, person)] = person
    return registered


def _all_readable(vault: IdentityVault, factory: sessionmaker[Session],
                  people: dict[str, Identifiers]) -> bool:
    with transaction(factory) as session:
        session.expire_all()
        return all(vault.reveal(session, sid) == person for sid, person in people.items())


def _usage(factory: sessionmaker[Session]) -> dict[int, int]:
    with transaction(factory) as session:
        return master_key_usage(session)


def _actions(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with transaction(factory) as session:
        entries = session.scalars(select(AuditEntry.entry).order_by(AuditEntry.id)).all()
    return [json.loads(entry) for entry in entries if '"keys.' in entry]


def test_rotation_rewraps_every_data_key_and_every_identity_stays_readable(
    rotation: KeyRotation, factory: sessionmaker[Session], keyring_path: Path,
    people: dict[str, Identifiers],
) -> None:
    assert rotation.rotate("identity-master") == 2
    progress = rotation.rewrap(batch_size=2)
    assert (progress.target_version, progress.rewrapped, progress.remaining) == (2, SUBJECTS, 0)
    assert _usage(factory) == {2: SUBJECTS}
    assert _all_readable(IdentityVault(Keyring.load(keyring_path)), factory, people)


def test_an_interrupted_rotation_resumes_and_reads_work_throughout(
    rotation: KeyRotation, factory: sessionmaker[Session], keyring_path: Path,
    people: dict[str, Identifiers],
) -> None:
    worker = IdentityVault(Keyring.load(keyring_path), keyring_path)  # loaded before rotating
    rotation.rotate("identity-master")
    interrupted = rotation.rewrap(batch_size=2, max_batches=1)
    assert (interrupted.rewrapped, interrupted.remaining) == (2, SUBJECTS - 2)
    assert _usage(factory) == {1: SUBJECTS - 2, 2: 2}
    # The worker meets version 2 rows it has no key for, reloads the keyring file, reads on.
    assert _all_readable(worker, factory, people)
    resumed = rotation.rewrap(batch_size=2)
    assert (resumed.rewrapped, resumed.remaining) == (SUBJECTS - 2, 0)
    assert _all_readable(worker, factory, people)
    batches = [e for e in _actions(factory) if e["action"] == "keys.rewrapped"]
    assert [e["subjects"] for e in batches] == [2, 2, 1]


def test_a_worker_started_before_the_rotation_seals_under_the_new_version(
    rotation: KeyRotation, factory: sessionmaker[Session], keyring_path: Path,
) -> None:
    worker = IdentityVault(Keyring.load(keyring_path), keyring_path)
    rotation.rotate("identity-master")
    with transaction(factory) as session:
        subject_id = worker.register(session, identifiers())
        assert session.get(Subject, subject_id).master_key_version == 2  # type: ignore[union-attr]  # just registered


def test_retire_is_refused_while_a_row_uses_the_version_and_works_after(
    rotation: KeyRotation, factory: sessionmaker[Session], keyring_path: Path,
    people: dict[str, Identifiers],
) -> None:
    rotation.rotate("identity-master")
    rotation.rewrap(batch_size=2, max_batches=1)
    with pytest.raises(RotationError, match="still use identity-master version 1"):
        rotation.retire(1)
    with pytest.raises(RotationError, match="is the active"):
        rotation.retire(2)
    assert 1 in Keyring.load(keyring_path).symmetric["identity-master"]
    rotation.rewrap()
    rotation.retire(1)
    retired = Keyring.load(keyring_path)
    assert sorted(retired.symmetric["identity-master"]) == [2]
    assert _all_readable(IdentityVault(retired), factory, people)
    assert [e["action"] for e in _actions(factory)] == [
        "keys.rotated", "keys.rewrapped", "keys.rewrapped", "keys.retired"
    ]


def test_retire_refuses_an_unknown_version(rotation: KeyRotation) -> None:
    with pytest.raises(RotationError, match="no version 7"):
        rotation.retire(7)


def test_shredded_subjects_are_left_alone(
    rotation: KeyRotation, factory: sessionmaker[Session], keyring_path: Path,
    people: dict[str, Identifiers],
) -> None:
    shredded = next(iter(people))
    with transaction(factory) as session:
        IdentityVault(Keyring.load(keyring_path)).shred(session, shredded)
    rotation.rotate("identity-master")
    assert rotation.rewrap().rewrapped == SUBJECTS - 1


def test_only_the_master_and_pseudonym_keys_rotate(rotation: KeyRotation) -> None:
    with pytest.raises(RotationError, match="only"):
        rotation.rotate("blind-index")


def test_the_cli_rotates_resumes_and_retires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETENPOORT_INSTANCE", str(tmp_path / "instance"))
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    instance = initialise(Settings.from_env())
    vault = IdentityVault(instance.keyring)
    with transaction(instance.session_factory) as session:
        subject_ids = [vault.register(session, identifiers()) for _ in range(3)]
    result = runner.invoke(main, ["keys", "rotate", "--batch-size", "1", "--max-batches", "1"])
    assert result.exit_code == 0, result.output
    assert "re-wrapped 1 data key(s) under version 2; 2 remaining" in result.output
    refused = runner.invoke(main, ["keys", "retire", "--version", "1"])
    assert refused.exit_code != 0
    assert "still use" in refused.output
    assert runner.invoke(main, ["keys", "rotate", "--resume"]).exit_code == 0
    rehearsed = runner.invoke(main, ["keys", "retire", "--version", "1", "--dry-run"])
    assert rehearsed.output == "dry run: identity-master version 1 can be retired\n"
    assert "versions [1, 2]" in runner.invoke(main, ["keys", "status"]).output
    assert runner.invoke(main, ["keys", "retire", "--version", "1"]).exit_code == 0
    status = runner.invoke(main, ["keys", "status"])
    assert "identity-master v2: 3 subject(s)" in status.output
    rehearsed = runner.invoke(main, ["identity", "shred", "--subject-id", subject_ids[0],
                                     "--dry-run"])
    assert rehearsed.output.startswith("dry run, nothing changed: subject"), rehearsed.output
    assert "identity-master v2: 3 subject(s)" in runner.invoke(main, ["keys", "status"]).output
    shred = runner.invoke(main, ["identity", "shred", "--subject-id", subject_ids[0]])
    assert shred.exit_code == 0, shred.output
    assert "2 subject(s)" in runner.invoke(main, ["keys", "status"]).output
    pseudonyms = runner.invoke(main, ["keys", "rotate", "--pseudonyms"])
    assert "pseudonym version 2 is active" in pseudonyms.output
