"""ClientService and TokenService without HTTP: creation rules, key rules, secrets, replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, OctKey, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.interfaces import ClientError, InvalidToken, UnknownClient
from gateway.auth.models import UsedClientAssertion
from gateway.auth.secret_hashing import hash_secret, secret_matches
from gateway.auth.services import ClientService, TokenService, revocation_check
from gateway.clock import SYSTEM_CLOCK
from gateway.keys import Keyring

from .factories import PARTNERS, key_client, secret_client


def test_create_refuses_an_unknown_partner(session: Session) -> None:
    with pytest.raises(ClientError, match="unknown partner 'kmar'"):
        ClientService().create(session, "kmar", ["inbox:read"], PARTNERS)


@pytest.mark.parametrize(
    ("scopes", "message"),
    [([], "at least one scope"), (["inbox:read", "admin", "root"], "unknown scope.*admin, root")],
)
def test_create_refuses_bad_scopes(session: Session, scopes: list[str], message: str) -> None:
    with pytest.raises(ClientError, match=message):
        ClientService().create(session, "politie", scopes, PARTNERS)


def test_authenticate_secret_accepts_only_the_right_secret_of_an_active_client(
    session: Session,
) -> None:
    clients = ClientService()
    client, secret = secret_client(session)

    assert clients.authenticate_secret(session, client.client_id, secret) is client
    assert clients.authenticate_secret(session, client.client_id, secret + "x") is None
    assert clients.authenticate_secret(session, "no-such-client", secret) is None
    clients.revoke(session, client.client_id)
    assert clients.authenticate_secret(session, client.client_id, secret) is None


def test_revoking_an_unknown_or_revoked_client_is_an_error(session: Session) -> None:
    clients = ClientService()
    client, _secret = secret_client(session)
    clients.revoke(session, client.client_id)

    with pytest.raises(UnknownClient):
        clients.revoke(session, client.client_id)
    with pytest.raises(UnknownClient):
        clients.revoke(session, "no-such-client")


def test_register_jwk_stores_the_public_key_with_a_kid_and_drops_the_secret(
    session: Session,
) -> None:
    client, _secret = secret_client(session)
    public = ECKey.generate_key("P-256").as_dict(private=False)

    stored = ClientService().register_jwk(session, client.client_id, public)

    assert stored["kid"]
    assert client.jwks == {"keys": [stored]}
    assert client.token_endpoint_auth_method == "private_key_jwt"
    assert client.secret_hash is None


def test_register_jwk_keeps_earlier_keys_for_rotation_but_refuses_a_duplicate(
    session: Session,
) -> None:
    client, first = key_client(session)
    second = ECKey.generate_key("P-256", auto_kid=True)
    clients = ClientService()

    clients.register_jwk(session, client.client_id, second.as_dict(private=False))

    assert client.jwks is not None
    assert [key["kid"] for key in client.jwks["keys"]] == [first.kid, second.kid]
    with pytest.raises(ClientError, match="already has a key"):
        clients.register_jwk(session, client.client_id, second.as_dict(private=False))


def _weak_rsa_jwk() -> dict[str, object]:
    # S505 flags the 1024-bit key; it is deliberately breakable, to show it is refused.
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    return dict(RSAKey.import_key(weak.public_key()).as_dict(private=False))


@pytest.mark.parametrize(
    ("jwk", "message"),
    [
        (ECKey.generate_key("P-256").as_dict(private=True), "private key material"),
        (OctKey.generate_key(256).as_dict(), "private key material"),
        ({"kty": "oct", "alg": "HS256"}, "unsupported key type 'oct'"),
        (ECKey.generate_key("P-384").as_dict(private=False), "curve P-256"),
        ({**ECKey.generate_key("P-256").as_dict(private=False), "use": "enc"}, "signing key"),
        ({**ECKey.generate_key("P-256").as_dict(private=False), "alg": "HS256"}, "JWK alg"),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "not a valid JWK"),
        ("not a mapping", "JSON object"),
    ],
)
def test_register_jwk_refuses_keys_it_must_not_hold_or_cannot_use(
    session: Session, jwk: object, message: str
) -> None:
    client, _secret = secret_client(session)

    with pytest.raises(ClientError, match=message):
        ClientService().register_jwk(session, client.client_id, jwk)  # type: ignore[arg-type]

    assert client.jwks is None


# joserfc warns about the short key while importing it; the refusal is what is under test.
@pytest.mark.filterwarnings("ignore:Key size should be")
def test_register_jwk_refuses_a_short_rsa_key(session: Session) -> None:
    client, _secret = secret_client(session)

    with pytest.raises(ClientError, match="at least 2048 bits"):
        ClientService().register_jwk(session, client.client_id, _weak_rsa_jwk())


def test_spend_assertion_refuses_a_second_use_but_forgets_expired_ones(session: Session) -> None:
    client, _key = key_client(session)
    later = SYSTEM_CLOCK.now() + timedelta(minutes=5)
    clients = ClientService()

    assert clients.spend_assertion(session, client.client_id, "jti-1", later)
    assert not clients.spend_assertion(session, client.client_id, "jti-1", later)

    clients_in_the_future = ClientService(clock=lambda: later + timedelta(seconds=1))
    assert clients_in_the_future.spend_assertion(session, client.client_id, "jti-2", later)
    remaining = session.scalars(select(UsedClientAssertion.jti)).all()
    assert remaining == ["jti-2"]


def test_secret_hash_is_salted_and_damaged_hashes_never_match() -> None:
    first, second = hash_secret("s3cret"), hash_secret("s3cret")

    assert first != second
    assert secret_matches("s3cret", first)
    assert not secret_matches("s3cret!", first)
    assert not secret_matches("s3cret", None)
    assert not secret_matches("s3cret", first.replace("scrypt", "md5"))
    assert not secret_matches("s3cret", "scrypt$x$8$1$salt$hash")
    assert not secret_matches("s3cret", first[:-3] + "%%%")


def test_issue_refuses_scopes_beyond_the_client_and_revoked_clients(
    session: Session, tokens: TokenService
) -> None:
    client, _secret = secret_client(session, scopes=("inbox:read",))

    with pytest.raises(ClientError, match="exceed"):
        tokens.issue(client, frozenset({"inbox:read", "reidentify"}))
    ClientService().revoke(session, client.client_id)
    with pytest.raises(ClientError, match="revoked"):
        tokens.issue(client)


def test_verify_allows_small_clock_skew(
    session: Session, tokens: TokenService, keyring: Keyring
) -> None:
    client, _secret = secret_client(session)
    ahead = TokenService(
        keyring,
        issuer=tokens.issuer,
        audience=tokens.audience,
        ttl_seconds=900,
        clock=lambda: SYSTEM_CLOCK.now() + timedelta(seconds=20),
    )

    principal = tokens.verify(ahead.issue(client)["access_token"], revocation_check(session))

    assert principal.client_id == client.client_id


def test_verify_reports_a_revoked_client(session: Session, tokens: TokenService) -> None:
    client, _secret = secret_client(session)
    access_token = tokens.issue(client)["access_token"]
    ClientService().revoke(session, client.client_id)

    with pytest.raises(InvalidToken, match="revoked"):
        tokens.verify(access_token, revocation_check(session))


def test_a_token_verified_before_is_refused_once_revoked_or_expired(
    session: Session, keyring: Keyring
) -> None:
    now = [SYSTEM_CLOCK.now()]
    tokens = TokenService(keyring, issuer="https://gateway.test", audience="ketenpoort",
                          ttl_seconds=60, clock=lambda: now[0])
    client, _secret = secret_client(session)
    other, _secret = secret_client(session)
    access_token = tokens.issue(client)["access_token"]
    other_token = tokens.issue(other)["access_token"]
    assert tokens.verify(access_token, revocation_check(session)).client_id == client.client_id
    assert tokens.verify(other_token, revocation_check(session)).client_id == other.client_id

    ClientService().revoke(session, client.client_id)
    with pytest.raises(InvalidToken, match="revoked"):
        tokens.verify(access_token, revocation_check(session))

    now[0] += timedelta(seconds=60 + 31)  # past expiry and the allowed clock skew
    with pytest.raises(InvalidToken, match="exp"):
        tokens.verify(other_token, revocation_check(session))


def test_a_tampered_copy_of_a_verified_token_is_refused(
    session: Session, tokens: TokenService
) -> None:
    client, _secret = secret_client(session)
    access_token = tokens.issue(client)["access_token"]
    tokens.verify(access_token, revocation_check(session))
    header, payload, signature = access_token.split(".")
    tampered = ".".join((header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA"
                                                             else "BBBB")))

    with pytest.raises(InvalidToken):
        tokens.verify(tampered, revocation_check(session))
