"""After a token key rotation, a process that loaded the keyring before it verifies the new
key's tokens: a token naming an unknown ``kid`` makes it read the keyring once more (at most
once per interval, so made-up kids cannot make every request read it) before refusing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey
from sqlalchemy.engine import Connection

from gateway.app import create_app
from gateway.auth.interfaces import InvalidToken
from gateway.auth.models import OAuthClient
from gateway.auth.services import KEY_RELOAD_INTERVAL, TOKEN_TYPE, TokenService
from gateway.clock import ManualClock
from gateway.identity.rotation import KeyRotation
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.factories import RIEC, bearer

ISSUER, AUDIENCE, TTL_SECONDS = "https://gateway.test", "ketenpoort", 900


def _client() -> OAuthClient:
    return OAuthClient(client_id="riec-zaaksysteem", partner_id=RIEC, scopes="inbox:read",
                       secret_hash=None)


def _never_revoked(_client_id: str) -> bool:
    return False


def _worker(path: Path, clock: ManualClock,
            reload_keyring: Callable[[], Keyring] | None = None) -> TokenService:
    """A gateway worker started now: it loads the keyring as the file holds it."""
    return TokenService(Keyring.load(path), ISSUER, AUDIENCE, TTL_SECONDS, clock=clock.now,
                        reload_keyring=reload_keyring)


def _rotate(path: Path, container: Any, clock: ManualClock) -> None:
    KeyRotation(path, container.session_factory, container.audit, actor="tester",
                clock=clock).rotate_signing("token")


def _with_made_up_kid(kid: str, clock: ManualClock) -> str:
    """Well formed, signed by some Ed25519 key, naming a kid the gateway never had."""
    now = int(clock.now().timestamp())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "c", "client_id": "c", "iat": now,
              "nbf": now, "exp": now + 60, "jti": kid, "scope": "inbox:read", "partner_id": RIEC}
    return jwt.encode({"alg": "Ed25519", "kid": kid, "typ": TOKEN_TYPE}, claims,
                      OKPKey.generate_key("Ed25519"), algorithms=["Ed25519"])


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    return path


def test_a_worker_started_before_a_rotation_verifies_the_new_keys_tokens(
    keyring_path: Path, clock: ManualClock, container: Any
) -> None:
    earlier = _worker(keyring_path, clock, lambda: Keyring.read(keyring_path))
    unreloading = _worker(keyring_path, clock)
    _rotate(keyring_path, container, clock)
    token = _worker(keyring_path, clock).issue(_client())["access_token"]

    assert earlier.verify(token, _never_revoked).client_id == "riec-zaaksysteem"
    with pytest.raises(InvalidToken, match="unknown key"):
        unreloading.verify(token, _never_revoked)  # what every worker did before


def test_made_up_kids_read_the_keyring_at_most_once_per_interval(
    keyring_path: Path, clock: ManualClock
) -> None:
    reads: list[Keyring] = []

    def counted_read() -> Keyring:
        reads.append(Keyring.read(keyring_path))
        return reads[-1]

    worker = _worker(keyring_path, clock, counted_read)
    for attempt in range(50):
        with pytest.raises(InvalidToken, match="unknown key"):
            worker.verify(_with_made_up_kid(f"made-up-{attempt}", clock), _never_revoked)
    assert len(reads) == 1

    clock.advance(KEY_RELOAD_INTERVAL)
    with pytest.raises(InvalidToken, match="unknown key"):
        worker.verify(_with_made_up_kid("made-up-later", clock), _never_revoked)
    assert len(reads) == 2
    # The worker's own tokens never cost a read.
    worker.verify(worker.issue(_client())["access_token"], _never_revoked)
    assert len(reads) == 2


def test_an_unreadable_keyring_leaves_the_keys_in_memory_working(
    keyring_path: Path, clock: ManualClock
) -> None:
    worker = _worker(keyring_path, clock, lambda: Keyring.read(keyring_path))
    own = worker.issue(_client())["access_token"]
    keyring_path.write_text("{ not json")

    with pytest.raises(InvalidToken, match="unknown key"):
        worker.verify(_with_made_up_kid("made-up", clock), _never_revoked)
    assert worker.verify(own, _never_revoked).partner_id == RIEC


def test_two_gateways_on_one_instance_directory_accept_each_others_tokens_after_a_rotation(
    settings: Settings, connection: Connection, clock: ManualClock
) -> None:
    Keyring.generate().save(settings.keyring_path)
    earlier = create_app(settings, bind=connection, clock=clock)
    KeyRotation(settings.keyring_path, earlier.extensions["ketenpoort"].session_factory,
                earlier.extensions["ketenpoort"].audit, actor="tester",
                clock=clock).rotate_signing("token")
    restarted = create_app(settings, bind=connection, clock=clock)
    headers = bearer(restarted, RIEC, ("inbox:read",))

    answer = earlier.test_client().get("/v1/inbox", headers=headers)

    assert answer.status_code == 200, answer.json
    forged = {"Authorization": f"Bearer {_with_made_up_kid('made-up', clock)}"}
    assert earlier.test_client().get("/v1/inbox", headers=forged).status_code == 401
