"""Rotation of the signing keys (tokens, webhooks, checkpoints): new keys sign, old keys verify
for as long as what they signed can still be presented, and no longer."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.webhook import WebhookChannel
from audit.export import export_log
from audit.log import AuditLog, CheckpointSigner, Sequencer
from audit.models import AuditEntry
from gateway.auth.interfaces import InvalidToken
from gateway.auth.models import OAuthClient
from gateway.auth.services import KEY_ROLLOVER_GRACE, TOKEN_RSA_KEY, TokenService
from gateway.cli import main
from gateway.clock import ManualClock
from gateway.container import outbound_channels, signing_overlaps
from gateway.db import transaction
from gateway.identity.rotation import KeyRotation, RotationError
from gateway.keys import Keyring, public_key_fingerprint
from gateway.settings import Settings
from tests.conftest import TEST_MORNING

TTL = timedelta(seconds=900)
ISSUER, AUDIENCE = "https://gateway.test", "ketenpoort"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rotation(keyring_path: Path, factory: sessionmaker[Session], clock: ManualClock
             ) -> KeyRotation:
    settings = Settings(access_token_ttl_seconds=int(TTL.total_seconds()))
    return KeyRotation(keyring_path, factory, AuditLog(clock.now), actor="tester", clock=clock,
                       signing_overlaps=signing_overlaps(settings))


def _tokens(keyring_path: Path, clock: ManualClock, algorithm: str = "Ed25519"
            ) -> TokenService:
    """A gateway worker started now: it loads the keyring as the file holds it."""
    return TokenService(Keyring.load(keyring_path), ISSUER, AUDIENCE, int(TTL.total_seconds()),
                        clock=clock.now, algorithm=algorithm)


def _client() -> OAuthClient:
    return OAuthClient(client_id="vlaardingen-zaaksysteem", partner_id="gemeente-vlaardingen",
                       scopes="exchange:write", secret_hash=None)


def _never_revoked(_client_id: str) -> bool:
    return False


def test_a_token_signed_before_the_rotation_verifies_until_it_expires_and_then_not(
    rotation: KeyRotation, keyring_path: Path, clock: ManualClock
) -> None:
    old_token = _tokens(keyring_path, clock).issue(_client())["access_token"]
    rotation.rotate_signing("token")
    restarted = _tokens(keyring_path, clock)
    new_token = restarted.issue(_client())["access_token"]

    assert restarted.verify(old_token, _never_revoked).client_id == "vlaardingen-zaaksysteem"
    assert restarted.verify(new_token, _never_revoked).partner_id == "gemeente-vlaardingen"
    assert len(restarted.public_jwks()["keys"]) == 2

    clock.advance(TTL + KEY_ROLLOVER_GRACE)
    with pytest.raises(InvalidToken):
        restarted.verify(old_token, _never_revoked)
    assert len(restarted.public_jwks()["keys"]) == 1


def test_after_retirement_the_old_token_key_is_gone_from_the_keyring(
    rotation: KeyRotation, keyring_path: Path, clock: ManualClock
) -> None:
    old_token = _tokens(keyring_path, clock).issue(_client())["access_token"]
    rotation.rotate_signing("token")
    assert rotation.retire_signing("token") == 0  # still inside its overlap: kept

    clock.advance(TTL + KEY_ROLLOVER_GRACE + timedelta(seconds=1))
    assert rotation.retire_signing("token", dry_run=True) == 1
    assert Keyring.load(keyring_path).previous_keys("token-signing") != []
    assert rotation.retire_signing("token") == 1

    assert Keyring.load(keyring_path).previous_keys("token-signing") == []
    clock.set(TEST_MORNING)  # even with the clock back inside the window: the key is gone
    with pytest.raises(InvalidToken):
        _tokens(keyring_path, clock).verify(old_token, _never_revoked)


def test_a_leaked_token_key_is_retired_at_once_and_its_tokens_stop(
    rotation: KeyRotation, keyring_path: Path, clock: ManualClock
) -> None:
    old_token = _tokens(keyring_path, clock).issue(_client())["access_token"]
    rotation.rotate_signing("token")
    assert _tokens(keyring_path, clock).verify(old_token, _never_revoked)

    assert rotation.retire_signing("token", immediately=True) == 1

    with pytest.raises(InvalidToken):
        _tokens(keyring_path, clock).verify(old_token, _never_revoked)


def test_a_dry_run_changes_nothing_and_a_rotation_is_audited(
    rotation: KeyRotation, keyring_path: Path, factory: sessionmaker[Session]
) -> None:
    before = keyring_path.read_bytes()
    rehearsed = rotation.rotate_signing("webhook", dry_run=True)
    assert rehearsed.new_key is None
    assert keyring_path.read_bytes() == before

    done = rotation.rotate_signing("webhook")
    with transaction(factory) as session:
        entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    assert {"action": "keys.rotated", "key": "webhook-signing", "key_id": done.new_key,
            "previous_key_id": rehearsed.previous_key,
            "actor": {"operator": "tester"}}.items() <= entries[-1].items()
    # The webhook key is the one replaced key kept with its private half: it co-signs.
    (previous,) = Keyring.load(keyring_path).previous_keys("webhook-signing")
    assert previous.private_key is not None


def test_checkpoint_keys_are_never_retired_and_unknown_kinds_are_refused(
    rotation: KeyRotation
) -> None:
    rotation.rotate_signing("checkpoint")
    with pytest.raises(RotationError, match="kept"):
        rotation.retire_signing("checkpoint")
    with pytest.raises(RotationError, match="kinds"):
        rotation.rotate_signing("pseudonym")


def _pem(key: Ed25519PublicKey, path: Path) -> Path:
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def test_a_checkpoint_signed_by_the_old_key_verifies_offline_after_the_rotation(
    rotation: KeyRotation, keyring_path: Path, factory: sessionmaker[Session],
    session: Session, tmp_path: Path, clock: ManualClock
) -> None:
    audit = AuditLog(clock.now)

    def seal_with_the_keyring_key() -> None:
        with transaction(factory) as writing:
            audit.append(writing, {"action": "test.event"})
        key = Keyring.load(keyring_path).signing_key("audit-checkpoint")
        Sequencer(factory, CheckpointSigner(key)).run_once()

    seal_with_the_keyring_key()
    old_key = Keyring.load(keyring_path).signing_key("audit-checkpoint").public_key()
    rotation.rotate_signing("checkpoint")  # audited: one more entry for the next checkpoint
    seal_with_the_keyring_key()
    keyring = Keyring.load(keyring_path)
    assert [k.public_key for k in keyring.previous_keys("audit-checkpoint")] == [old_key]
    export = tmp_path / "export.jsonl"
    export_log(session, export)
    new_pem = _pem(keyring.signing_key("audit-checkpoint").public_key(), tmp_path / "new.pem")
    old_pem = _pem(old_key, tmp_path / "old.pem")

    def offline(*keys: Path) -> subprocess.CompletedProcess[str]:
        arguments = [a for key in keys for a in ("--public-key", str(key))]
        return subprocess.run(  # noqa: S603  # our own verifier, fixed arguments
            [sys.executable, "-m", "audit.verify", str(export), *arguments],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)

    assert offline(new_pem, old_pem).returncode == 0, offline(new_pem, old_pem).stdout
    only_new = offline(new_pem)
    assert only_new.returncode == 1
    assert "unknown key" in only_new.stdout


def test_the_cli_rotates_a_signing_key_with_a_dry_run_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETENPOORT_INSTANCE", str(tmp_path / "instance"))
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    keyring_path = tmp_path / "instance" / "keyring.json"
    before = keyring_path.read_bytes()

    rehearsed = runner.invoke(main, ["keys", "rotate", "--kind", "checkpoint", "--dry-run"])
    assert rehearsed.exit_code == 0, rehearsed.output
    assert rehearsed.output.startswith("dry run, nothing changed")
    assert keyring_path.read_bytes() == before
    assert runner.invoke(main, ["audit", "sequencer", "--once"]).exit_code == 0

    rotated = runner.invoke(main, ["keys", "rotate", "--kind", "checkpoint"])
    assert rotated.exit_code == 0, rotated.output
    assert "keeps verifying for ever" in rotated.output
    assert runner.invoke(main, ["audit", "sequencer", "--once"]).exit_code == 0
    verified = runner.invoke(main, ["audit", "verify"])  # old and new checkpoints, keyring keys
    assert verified.exit_code == 0, verified.output

    token = runner.invoke(main, ["keys", "rotate", "--kind", "token"])
    assert "until" in token.output
    assert "0 replaced token key(s) retired" in runner.invoke(
        main, ["keys", "retire", "--kind", "token"]).output
    refused = runner.invoke(main, ["keys", "retire"])
    assert refused.exit_code != 0


def test_the_container_hands_the_replaced_webhook_key_to_the_channel_for_the_overlap(
    rotation: KeyRotation, keyring_path: Path, clock: ManualClock
) -> None:
    rotation.rotate_signing("webhook")
    settings = Settings(webhook_signature_overlap_seconds=3600)

    channel = outbound_channels(settings, Keyring.load(keyring_path))["webhook"]

    assert isinstance(channel, WebhookChannel)
    ((key, until),) = channel.previous_keys
    (previous,) = Keyring.load(keyring_path).previous_keys("webhook-signing")
    assert key.public_key() == previous.public_key
    assert until == (clock.now() + timedelta(hours=1)).timestamp()


def test_a_token_rotation_replaces_the_rsa_token_key_too_with_the_same_overlap(
    rotation: KeyRotation, keyring_path: Path, clock: ManualClock,
    factory: sessionmaker[Session],
) -> None:
    keyring = Keyring.load(keyring_path)
    keyring.ensure_rsa(TOKEN_RSA_KEY)
    keyring.save(keyring_path)
    old_rsa = keyring.rsa_key(TOKEN_RSA_KEY).public_key()
    old_token = _tokens(keyring_path, clock, "PS256").issue(_client())["access_token"]

    rehearsed = rotation.rotate_signing("token", dry_run=True)
    done = rotation.rotate_signing("token")

    assert rehearsed.previous_rsa_key == done.previous_rsa_key == public_key_fingerprint(old_rsa)
    assert done.new_rsa_key not in (None, done.previous_rsa_key)
    rotated = Keyring.load(keyring_path)
    assert [k.public_key for k in rotated.previous_rsa_keys(TOKEN_RSA_KEY)] == [old_rsa]
    restarted = _tokens(keyring_path, clock, "PS256")
    new_token = restarted.issue(_client())["access_token"]
    assert restarted.verify(old_token, _never_revoked).client_id == "vlaardingen-zaaksysteem"
    assert restarted.verify(new_token, _never_revoked).client_id == "vlaardingen-zaaksysteem"
    with transaction(factory) as session:
        entry = json.loads(session.scalars(
            select(AuditEntry.entry).order_by(AuditEntry.id.desc()).limit(1)).one())
    assert {"rsa_key": TOKEN_RSA_KEY, "rsa_key_id": done.new_rsa_key,
            "previous_rsa_key_id": done.previous_rsa_key}.items() <= entry.items()
    assert "PRIVATE" not in json.dumps(entry)
    assert "BEGIN" not in json.dumps(entry)

    clock.advance(TTL + KEY_ROLLOVER_GRACE)
    with pytest.raises(InvalidToken):
        restarted.verify(old_token, _never_revoked)
    clock.advance(timedelta(seconds=1))
    assert rotation.retire_signing("token") == 2  # the Ed25519 and the RSA key it replaced
    assert Keyring.load(keyring_path).previous_rsa_keys(TOKEN_RSA_KEY) == []


def test_a_token_rotation_adds_no_rsa_key_to_a_keyring_without_one(
    rotation: KeyRotation, keyring_path: Path
) -> None:
    done = rotation.rotate_signing("token")

    assert (done.previous_rsa_key, done.new_rsa_key) == (None, None)
    assert Keyring.load(keyring_path).rsa_signing == {}
