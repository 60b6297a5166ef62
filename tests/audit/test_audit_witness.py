"""The witness against the real application: it follows an honest log and catches every fork."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from audit import witness
from audit.log import CheckpointSigner, Sequencer
from audit.witness import FetchError, Rejected, Witness
from gateway.clock import SYSTEM_CLOCK
from gateway.db import transaction
from gateway.keys import Keyring
from tests.factories import RIEC, bearer

CHECKPOINT = "/v1/audit/checkpoint"


class Log:
    """The real app's audit log, grown and sequenced on demand, fetched as a witness would."""

    def __init__(self, app: Flask, keyring: Keyring) -> None:
        self.app = app
        self.signer = CheckpointSigner(keyring.signing_key("audit-checkpoint"))
        self.headers = bearer(app, RIEC, ("audit:read",))
        self.http = app.test_client()

    def grow(self, count: int) -> dict[str, Any]:
        container = self.app.extensions["ketenpoort"]
        with transaction(container.session_factory) as session:
            for number in range(count):
                container.audit.append(session, {"action": "test.event", "n": number})
        Sequencer(container.session_factory, self.signer).run_once()
        return self.fetch(CHECKPOINT)

    def fetch(self, path: str) -> Any:
        response = self.http.get(path, headers=self.headers)
        if response.status_code != 200:
            raise FetchError(f"{path}: {response.status_code}")
        return response.json

    def serving(self, **overrides: Any) -> Callable[[str], Any]:
        """This log, except that the paths in ``overrides`` answer what the forger chose."""
        def fetch(path: str) -> Any:
            for prefix, answer in overrides.items():
                if path.startswith(prefix):
                    return answer
            return self.fetch(path)
        return fetch

    def forge(self, tree_size: int, signer: CheckpointSigner | None = None) -> dict[str, Any]:
        """A well-signed checkpoint over another history of ``tree_size`` entries."""
        fake_root = hashlib.sha256(b"another history %d" % tree_size).digest()
        signed = (signer or self.signer).sign(tree_size, fake_root, SYSTEM_CLOCK.now())
        return {
            "origin": signed.body.origin, "tree_size": tree_size,
            "root_hash": base64.b64encode(fake_root).decode(),
            "issued_at": signed.body.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "key_id": signed.key_id, "signature": base64.b64encode(signed.signature).decode(),
        }


@pytest.fixture
def log(gateway_app: Flask, keyring: Keyring) -> Log:
    return Log(gateway_app, keyring)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "witness.json"


def test_it_follows_an_honest_log(log: Log, state: Path) -> None:
    log.grow(3)
    first = Witness(state, log.fetch).check()
    assert first.previous is None
    assert first.current.body.tree_size == 3
    log.grow(5)
    second = Witness(state, log.fetch).check()
    assert second.previous is not None
    assert (second.previous.body.tree_size, second.current.body.tree_size) == (3, 8)
    assert Witness(state, log.fetch).check().current.body.tree_size == 8


@pytest.mark.parametrize("grown_by", [0, 4], ids=["same-size", "larger"])
def test_a_forged_fork_is_rejected_and_the_state_kept(
    log: Log, state: Path, grown_by: int
) -> None:
    log.grow(3)
    Witness(state, log.fetch).check()
    remembered = state.read_bytes()
    head = log.grow(grown_by) if grown_by else log.fetch(CHECKPOINT)
    fork = log.serving(**{CHECKPOINT: log.forge(head["tree_size"])})
    with pytest.raises(Rejected, match="split view"):
        Witness(state, fork).check()
    assert state.read_bytes() == remembered


def test_a_fork_with_its_own_forged_proof_is_rejected(log: Log, state: Path) -> None:
    log.grow(3)
    Witness(state, log.fetch).check()
    remembered = state.read_bytes()
    noise = [base64.b64encode(hashlib.sha256(bytes([i])).digest()).decode() for i in range(3)]
    fork = log.serving(**{
        CHECKPOINT: log.forge(7),
        "/v1/audit/consistency-proof": {"first": 3, "second": 7, "hashes": noise},
    })
    with pytest.raises(Rejected, match="not an extension"):
        Witness(state, fork).check()
    assert state.read_bytes() == remembered


def test_a_rollback_is_rejected(log: Log, state: Path) -> None:
    older = log.grow(2)
    log.grow(2)
    Witness(state, log.fetch).check()
    remembered = state.read_bytes()
    with pytest.raises(Rejected, match="rollback"):
        Witness(state, log.serving(**{CHECKPOINT: older})).check()
    assert state.read_bytes() == remembered


def test_a_checkpoint_under_another_key_is_rejected(log: Log, state: Path) -> None:
    log.grow(2)
    Witness(state, log.fetch).check()
    stranger = CheckpointSigner(Ed25519PrivateKey.generate())
    with pytest.raises(Rejected, match="untrusted key"):
        Witness(state, log.serving(**{CHECKPOINT: log.forge(4, stranger)})).check()


def test_a_tampered_signature_is_rejected(log: Log, state: Path) -> None:
    head = log.grow(2)
    tampered = {**head, "tree_size": 1}
    with pytest.raises(Rejected, match="bad signature"):
        Witness(state, log.serving(**{CHECKPOINT: tampered})).check()
    assert not state.exists()


def test_a_pinned_public_key_is_trusted_over_what_the_log_publishes(
    log: Log, state: Path, keyring: Keyring, tmp_path: Path
) -> None:
    log.grow(2)
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(Rejected, match="untrusted key"):
        Witness(state, log.fetch, trusted_key=stranger.public_key()).check()
    real = keyring.signing_key("audit-checkpoint").public_key()
    assert Witness(state, log.fetch, trusted_key=real).check().current.body.tree_size == 2


def test_the_command_line_exit_status(
    log: Log, state: Path, keyring: Keyring, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    pem = tmp_path / "key.pem"
    pem.write_bytes(keyring.signing_key("audit-checkpoint").public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    fetches = {"honest": log.fetch, "forged": log.serving(**{CHECKPOINT: log.forge(2)})}
    chosen = {"fetch": "honest"}
    monkeypatch.setattr(witness, "http_fetch", lambda url, token: fetches[chosen["fetch"]])
    arguments = ["--state", str(state), "--url", "http://gateway.test", "--public-key", str(pem)]
    log.grow(2)

    assert witness.main(arguments) == 0
    assert "first checkpoint remembered (size 2)" in capsys.readouterr().out
    chosen["fetch"] = "forged"
    assert witness.main(arguments) == 1
    assert "REJECTED: split view" in capsys.readouterr().err


def test_an_unreachable_log_changes_nothing(state: Path) -> None:
    exit_status = witness.main(["--state", str(state), "--url", "http://127.0.0.1:9"])
    assert exit_status == 2
    assert not state.exists()


def test_the_witness_loads_nothing_of_the_gateway() -> None:
    probe = (
        "import sys, audit.witness; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'gateway', 'sqlalchemy'}))"
    )
    result = subprocess.run(  # noqa: S603 -- fixed interpreter and arguments, no shell
        [sys.executable, "-c", probe], cwd=Path(__file__).parents[2],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_damaged_state_file_is_reported_and_left_alone(state: Path) -> None:
    state.write_text('{"format": "something else"}')
    exit_status = witness.main(["--state", str(state), "--url", "http://127.0.0.1:9"])
    assert exit_status == 2
    assert state.read_text() == '{"format": "something else"}'


def test_after_a_key_rotation_the_witness_trusts_the_old_and_the_new_key(
    log: Log, state: Path, keyring: Keyring
) -> None:
    old = keyring.signing_key("audit-checkpoint")
    log.grow(2)
    assert Witness(state, log.fetch, trusted_key=old.public_key()).check()
    new = Ed25519PrivateKey.generate()
    log.signer = CheckpointSigner(new)  # a sequencer restarted after a checkpoint key rotation
    log.grow(3)

    with pytest.raises(Rejected, match="untrusted key"):
        Witness(state, log.fetch, trusted_key=old.public_key()).check()
    outcome = Witness(state, log.fetch, trusted_key=[old.public_key(), new.public_key()]).check()
    assert outcome.current.body.tree_size == 5  # and proven consistent with the size-2 head
