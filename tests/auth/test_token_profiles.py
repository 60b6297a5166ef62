"""Access tokens as a government partner meets them: the partner's OIN, certificate binding
(RFC 8705) and the NL GOV OAuth profile's RS256/PS256, checked on the token service itself."""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.auth.interfaces import CertificateRequired, InvalidToken
from gateway.auth.services import TokenService, revocation_check
from gateway.client_certificates import PresentedCertificate
from gateway.instance import initialise
from gateway.keys import Keyring, KeyringError
from gateway.ports import PartnerProfile
from gateway.settings import Settings
from tests.factories import VLAARDINGEN, bearer
from tests.local_ca import trusted_ca

from .conftest import AUDIENCE, ISSUER
from .factories import secret_client

OIN = "00000001001234567000"
OTHER_OIN = "00000001007654321000"


def _certificate(common_name: str, oin: str) -> PresentedCertificate:
    pem_path, _key = trusted_ca().client_certificate(common_name, oin)
    return PresentedCertificate(
        x509.load_pem_x509_certificate(Path(pem_path).read_bytes()).public_bytes(Encoding.DER))


@functools.cache
def rsa_keyring() -> Keyring:
    keyring = Keyring.generate()
    keyring.ensure_rsa("token-signing-rsa")
    return keyring


def _service(keyring: Keyring, *, mutual_tls: bool = False, algorithm: str = "Ed25519",
             oin: str | None = OIN) -> TokenService:
    profile = PartnerProfile("politie", oin, mutual_tls)
    return TokenService(keyring, ISSUER, AUDIENCE, 900, algorithm=algorithm,
                        partners=lambda partner: profile if partner == "politie" else None)


def test_the_token_carries_the_partners_oin(session: Session, keyring: Keyring) -> None:
    client, _secret = secret_client(session)
    tokens = _service(keyring)
    token = tokens.issue(client)["access_token"]
    assert tokens.verify(token, revocation_check(session)).oin == OIN


def test_a_partner_without_an_oin_gets_no_oin_claim(session: Session, keyring: Keyring) -> None:
    client, _secret = secret_client(session)
    tokens = _service(keyring, oin=None)
    token = tokens.issue(client)["access_token"]
    assert "oin" not in jwt.decode(token, KeySet.import_key_set(tokens.public_jwks()),
                                   algorithms=["Ed25519"]).claims


def test_mutual_tls_partners_need_a_certificate_naming_their_oin(
    session: Session, keyring: Keyring
) -> None:
    client, _secret = secret_client(session)
    tokens = _service(keyring, mutual_tls=True)
    with pytest.raises(CertificateRequired, match="requires mutual TLS"):
        tokens.issue(client)
    with pytest.raises(CertificateRequired, match="OIN"):
        tokens.issue(client, certificate=_certificate("someone else", OTHER_OIN))
    own = _certificate("politie", OIN)
    token = tokens.issue(client, certificate=own)["access_token"]
    assert tokens.verify(token, revocation_check(session), own).partner_id == "politie"


def test_a_bound_token_needs_the_very_certificate(session: Session, keyring: Keyring) -> None:
    client, _secret = secret_client(session)
    tokens = _service(keyring, mutual_tls=True)
    own = _certificate("politie", OIN)
    token = tokens.issue(client, certificate=own)["access_token"]
    with pytest.raises(InvalidToken, match="without a client certificate"):
        tokens.verify(token, revocation_check(session))
    # Same subject, same OIN, same CA, another key: a copy made by whoever stole the token.
    with pytest.raises(InvalidToken, match="another certificate"):
        tokens.verify(token, revocation_check(session), _certificate("politie", OIN))


def test_an_unbound_token_of_a_partner_that_now_requires_mutual_tls_is_refused(
    session: Session, keyring: Keyring
) -> None:
    client, _secret = secret_client(session)
    token = _service(keyring).issue(client)["access_token"]
    with pytest.raises(InvalidToken, match="requires certificate-bound tokens"):
        _service(keyring, mutual_tls=True).verify(token, revocation_check(session),
                                                 _certificate("politie", OIN))


@pytest.mark.parametrize("algorithm", ["RS256", "PS256"])
def test_rsa_tokens_verify_against_the_published_jwks(session: Session, algorithm: str) -> None:
    client, _secret = secret_client(session)
    tokens = _service(rsa_keyring(), algorithm=algorithm)
    token = tokens.issue(client)["access_token"]
    jwks = tokens.public_jwks()
    assert jwks["keys"][0]["kty"] == "RSA"
    assert jwks["keys"][0]["alg"] == algorithm
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[algorithm])
    assert decoded.header["alg"] == algorithm
    assert decoded.header["kid"] == jwks["keys"][0]["kid"]
    assert tokens.verify(token, revocation_check(session)).client_id == client.client_id


def test_switching_the_algorithm_keeps_tokens_issued_before_valid(session: Session) -> None:
    client, _secret = secret_client(session)
    before = _service(rsa_keyring()).issue(client)["access_token"]
    after = _service(rsa_keyring(), algorithm="PS256")
    assert after.verify(before, revocation_check(session)).client_id == client.client_id
    assert {key["kty"] for key in after.public_jwks()["keys"]} == {"RSA", "OKP"}


def test_the_rsa_key_cannot_be_read_as_the_ed25519_key_or_the_other_way(
    session: Session,
) -> None:
    """A token names its algorithm, but the key that algorithm picks decides: an Ed25519
    signature labelled RS256 is checked as RSA and fails."""
    client, _secret = secret_client(session)
    tokens = _service(rsa_keyring(), algorithm="RS256")
    ed25519_token = _service(rsa_keyring()).issue(client)["access_token"]
    _header, payload, signature = ed25519_token.split(".")
    relabelled = ".".join((jwt_header("RS256"), payload, signature))
    with pytest.raises(InvalidToken):
        tokens.verify(relabelled, revocation_check(session))


def jwt_header(algorithm: str) -> str:
    header = json.dumps({"alg": algorithm, "typ": "at+jwt"}).encode()
    return base64.urlsafe_b64encode(header).rstrip(b"=").decode()


def test_rsa_tokens_need_the_keyrings_rsa_key() -> None:
    with pytest.raises(KeyringError, match="ketenpoort init"):
        _service(Keyring.generate(), algorithm="RS256")


def test_the_rsa_key_survives_the_keyring_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    rsa_keyring().save(path)
    loaded = Keyring.load(path)
    assert loaded.rsa_key("token-signing-rsa").private_numbers() == rsa_keyring().rsa_key(
        "token-signing-rsa").private_numbers()


def test_init_adds_the_rsa_key_and_the_gateway_serves_rsa_tokens(
    tmp_path: Path, test_policies_path: Path
) -> None:
    settings = Settings(instance_path=tmp_path / "instance", policies_path=test_policies_path,
                        access_token_algorithm="PS256")
    initialise(settings)
    app = create_app(settings)
    jwks = app.test_client().get("/.well-known/jwks.json").json
    assert [key["alg"] for key in jwks["keys"]] == ["PS256", "Ed25519"]
    token = bearer(app, VLAARDINGEN)["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["PS256"]).claims[
        "oin"] == "99999999000000001000"
    initialise(settings)  # a second run keeps the key
    assert Keyring.load(settings.keyring_path).rsa_key("token-signing-rsa").public_key(
    ).public_numbers() == app.extensions["ketenpoort"].keyring.rsa_key(
        "token-signing-rsa").public_key().public_numbers()
