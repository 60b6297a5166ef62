"""Attacks on access token verification: a token that chooses how it is checked.

The gateway's token keys are selected by the header's ``kid``, else its ``alg``; the key then
fixes the algorithms it verifies with. Each attack below forges a token whose claims are
perfectly valid (right issuer, audience, lifetime, scopes) so only the signature checks can
refuse it:

* ``alg: none`` with no signature, with and without a kid;
* HS256 keyed with the gateway's published RSA public key (PEM and DER) or Ed25519 key bytes,
  under the RSA key's kid, the Ed25519 key's kid and no kid;
* a token signed with the attacker's own key carried in the header (``jwk``);
* the RSA key's kid with ``alg: Ed25519`` (signed by the Ed25519 key), and the other way round;
* a token freshly forged with a rotated-out Ed25519 key (leaked after its replacement) under
  its own kid: accepted during the overlap, refused once the overlap has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jwt
from joserfc.jwk import JWKRegistry, Key, OKPKey, RSAKey

from gateway.auth.interfaces import InvalidToken
from gateway.auth.services import KEY_ROLLOVER_GRACE, TOKEN_RSA_KEY, TOKEN_SIGNING_KEY, TokenService
from gateway.clock import ManualClock
from gateway.keys import Keyring

ISSUER = "https://ketenpoort.test"
AUDIENCE = "ketenpoort"
TTL = timedelta(minutes=15)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENT = "0123456789abcdef0123456789abcdef"


def _never_revoked(_client_id: str) -> bool:
    return False


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(now: datetime) -> dict[str, Any]:
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": CLIENT, "client_id": CLIENT,
            "iat": int(now.timestamp()), "nbf": int(now.timestamp()),
            "exp": int((now + TTL).timestamp()), "jti": uuid.uuid4().hex,
            "scope": "audit:read exchange:write", "partner_id": "politie-rotterdam"}


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())))


def _hmac_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = _unsigned(header, claims)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _signed(header: dict[str, Any], claims: dict[str, Any], key: Key) -> str:
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


@pytest.fixture
def keyring() -> Keyring:
    keyring = Keyring.generate()
    keyring.ensure_rsa(TOKEN_RSA_KEY)
    return keyring


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _service(keyring: Keyring, clock: ManualClock) -> TokenService:
    return TokenService(keyring, ISSUER, AUDIENCE, int(TTL.total_seconds()), clock.now,
                        algorithm="RS256")


def _private_keys(keyring: Keyring) -> tuple[Key, Key]:
    return (RSAKey.import_key(keyring.rsa_key(TOKEN_RSA_KEY)),
            OKPKey.import_key(keyring.signing_key(TOKEN_SIGNING_KEY)))


def _kids(tokens: TokenService) -> dict[str, str]:
    return {key["kty"]: key["kid"] for key in tokens.public_jwks()["keys"]}


def test_the_genuine_tokens_verify(keyring: Keyring, clock: ManualClock) -> None:
    """The control: what the attacks forge is otherwise a token the gateway accepts."""
    tokens = _service(keyring, clock)
    kids = _kids(tokens)
    rsa, ed25519 = _private_keys(keyring)
    for header, key in (({"alg": "PS256", "kid": kids["RSA"]}, rsa),
                        ({"alg": "Ed25519", "kid": kids["OKP"]}, ed25519),
                        ({"alg": "Ed25519"}, ed25519)):
        token = _signed({**header, "typ": "at+jwt"}, _claims(START), key)
        assert tokens.verify(token, _never_revoked).client_id == CLIENT


def _public_secrets(keyring: Keyring) -> list[bytes]:
    rsa_public = keyring.rsa_key(TOKEN_RSA_KEY).public_key()
    ed_public = keyring.signing_key(TOKEN_SIGNING_KEY).public_key()
    return [rsa_public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
            rsa_public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
            ed_public.public_bytes(Encoding.Raw, PublicFormat.Raw),
            ed_public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)]


def test_alg_none_and_hmac_keyed_with_a_public_key_are_refused(
    keyring: Keyring, clock: ManualClock
) -> None:
    tokens = _service(keyring, clock)
    kids = [*_kids(tokens).values(), None]
    forged: list[str] = []
    for kid in kids:
        header = {"typ": "at+jwt", **({} if kid is None else {"kid": kid})}
        forged += [_unsigned({**header, "alg": "none"}, _claims(START)) + ".",
                   *(_hmac_token({**header, "alg": "HS256"}, _claims(START), secret)
                     for secret in _public_secrets(keyring))]
    for token in forged:
        with pytest.raises(InvalidToken):
            tokens.verify(token, _never_revoked)


def test_a_key_carried_in_the_header_is_not_trusted(keyring: Keyring, clock: ManualClock) -> None:
    tokens = _service(keyring, clock)
    own = OKPKey.generate_key("Ed25519")
    for extra in ({"jwk": own.as_dict(private=False)}, {"kid": own.thumbprint()},
                  {"jku": "https://attacker.test/jwks.json", "kid": own.thumbprint()}):
        token = _signed({"alg": "Ed25519", "typ": "at+jwt", **extra}, _claims(START), own)
        with pytest.raises(InvalidToken):
            tokens.verify(token, _never_revoked)


def test_a_kid_of_one_key_with_the_algorithm_of_the_other_is_refused(
    keyring: Keyring, clock: ManualClock
) -> None:
    tokens = _service(keyring, clock)
    kids = _kids(tokens)
    rsa, ed25519 = _private_keys(keyring)
    for header, key in (({"alg": "Ed25519", "kid": kids["RSA"]}, ed25519),
                        ({"alg": "RS256", "kid": kids["OKP"]}, rsa),
                        ({"alg": "PS256", "kid": kids["OKP"]}, rsa)):
        token = _signed({**header, "typ": "at+jwt"}, _claims(START), key)
        with pytest.raises(InvalidToken):
            tokens.verify(token, _never_revoked)


def test_a_leaked_rotated_out_key_forges_nothing_after_its_overlap(
    keyring: Keyring, clock: ManualClock
) -> None:
    old_private = keyring.signing_key(TOKEN_SIGNING_KEY)
    old = OKPKey.import_key(old_private)
    old_kid = JWKRegistry.import_key(old.as_dict(private=False)).thumbprint()
    keyring.rotate_signing(TOKEN_SIGNING_KEY, START, keep_private=False)
    tokens = _service(keyring, clock)

    def forged_now() -> str:
        return _signed({"alg": "Ed25519", "kid": old_kid, "typ": "at+jwt"},
                       _claims(clock.now()), old)

    during = forged_now()
    assert tokens.verify(during, _never_revoked).client_id == CLIENT  # the overlap: by design
    clock.set(START + TTL + KEY_ROLLOVER_GRACE + timedelta(seconds=1))
    attempts: list[Callable[[], str]] = [
        forged_now,
        lambda: _signed({"alg": "Ed25519", "typ": "at+jwt"}, _claims(clock.now()), old)]
    for attempt in attempts:
        with pytest.raises(InvalidToken):
            tokens.verify(attempt(), _never_revoked)
