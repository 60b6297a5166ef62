"""require_scope: the resource side. Every way a bearer token can be wrong gets its own case.

Each refused case also checks the logged reason, so a 401 for the wrong reason fails the test.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from gateway.auth.guard import require_scope
from gateway.auth.models import OAuthClient
from gateway.auth.services import ClientService, TokenService
from gateway.clock import SYSTEM_CLOCK
from gateway.keys import Keyring

from .conftest import AUDIENCE, ISSUER
from .factories import hand_made_jwt, secret_client


@dataclass
class World:
    keyring: Keyring
    tokens: TokenService
    client: OAuthClient
    session: Session

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": self.client.client_id,
            "client_id": self.client.client_id,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": "test-token",
            "scope": "exchange:write",
            "partner_id": self.client.partner_id,
            **changes,
        }
        return {name: value for name, value in claims.items() if value is not None}

    def signed(self, claims: dict[str, Any], key: OKPKey | None = None, typ: str = "at+jwt") -> str:
        signing_key = key or OKPKey.import_key(self.keyring.signing_key("token-signing"))
        header = {"alg": "Ed25519", "typ": typ}
        return jwt.encode(header, claims, signing_key, algorithms=["Ed25519"])

    def issued_by(self, **service_changes: Any) -> str:
        settings = {"issuer": ISSUER, "audience": AUDIENCE, "ttl_seconds": 900} | service_changes
        return str(TokenService(self.keyring, **settings).issue(self.client)["access_token"])


@pytest.fixture
def world(keyring: Keyring, tokens: TokenService, session: Session) -> World:
    client, _secret = secret_client(session, scopes=("exchange:write", "inbox:read"))
    return World(keyring, tokens, client, session)


def _public_key_pem(world: World) -> bytes:
    return world.keyring.signing_key("token-signing").public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _revoked(world: World) -> str:
    token = world.issued_by()
    ClientService().revoke(world.session, world.client.client_id)
    world.session.commit()
    return token


def _past(world: World) -> str:
    return world.issued_by(clock=lambda: SYSTEM_CLOCK.now() - timedelta(hours=1))


HeaderMaker = Callable[[World], str]
REFUSED: list[tuple[str, HeaderMaker, str]] = [
    ("garbage", lambda w: "Bearer not-a-jwt", "Invalid JSON Web"),
    ("three garbage parts", lambda w: "Bearer a.b.c", "decode_error"),
    ("alg none", lambda w: "Bearer " + hand_made_jwt({"alg": "none"}, w.claims()), "'none'"),
    (
        "HS256 keyed with the public key",
        lambda w: "Bearer " + hand_made_jwt({"alg": "HS256"}, w.claims(), _public_key_pem(w)),
        "'HS256' is not allowed",
    ),
    (
        "signed by another Ed25519 key",
        lambda w: "Bearer " + w.signed(w.claims(), OKPKey.import_key(Ed25519PrivateKey.generate())),
        "bad_signature",
    ),
    ("expired", lambda w: "Bearer " + _past(w), "expired"),
    (
        "not yet valid",
        lambda w: "Bearer " + w.signed(w.claims(nbf=int(time.time()) + 600)),
        "not yet valid",
    ),
    ("wrong audience", lambda w: "Bearer " + w.issued_by(audience="other-api"), "'aud'"),
    ("wrong issuer", lambda w: "Bearer " + w.issued_by(issuer="https://evil.test"), "'iss'"),
    (
        "missing partner_id",
        lambda w: "Bearer " + w.signed(w.claims(partner_id=None)),
        "Missing claim: 'partner_id'",
    ),
    ("missing exp", lambda w: "Bearer " + w.signed(w.claims(exp=None)), "Missing claim: 'exp'"),
    (
        "unknown scope",
        lambda w: "Bearer " + w.signed(w.claims(scope="exchange:write superuser")),
        "unknown scope(s): superuser",
    ),
    ("not an access token", lambda w: "Bearer " + w.signed(w.claims(), typ="JWT"), "token type"),
    ("revoked client", lambda w: "Bearer " + _revoked(w), "the client is revoked"),
    (
        "unknown client",
        lambda w: "Bearer " + w.signed(w.claims(sub="ghost", client_id="ghost")),
        "the client is revoked",
    ),
    (
        "missing client_id (RFC 9068)",
        lambda w: "Bearer " + w.signed(w.claims(client_id=None)),
        "Missing claim: 'client_id'",
    ),
    (
        "client_id of another client",
        lambda w: "Bearer " + w.signed(w.claims(client_id="another-client")),
        "client_id must name the subject",
    ),
]


@pytest.mark.parametrize(
    ("make_header", "logged_reason"),
    [pytest.param(make, reason, id=case) for case, make, reason in REFUSED],
)
def test_bad_token_is_refused_with_401(
    http: FlaskClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
    make_header: HeaderMaker,
    logged_reason: str,
) -> None:
    header = make_header(world)

    with caplog.at_level(logging.INFO, logger="gateway.auth.guard"):
        response = http.get("/protected", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.json is not None
    assert response.json["detail"] == "the access token is invalid, expired or revoked"
    assert logged_reason in caplog.text


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no header"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic scheme"),
        pytest.param({"Authorization": "Bearer"}, id="no token"),
        pytest.param({"Authorization": "Bearer   "}, id="blank token"),
        pytest.param({"Authorization": "Bearer a b"}, id="two tokens"),
    ],
)
def test_missing_or_malformed_header_is_refused_with_401(
    http: FlaskClient, world: World, headers: dict[str, str]
) -> None:
    response = http.get("/protected", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.json is not None
    assert response.json["type"].endswith("/unauthorized")


def test_token_without_the_required_scope_is_refused_with_403(
    http: FlaskClient, world: World
) -> None:
    token = world.signed(world.claims(scope="inbox:read"))

    response = http.get("/protected", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
    assert response.json is not None
    assert response.json["type"].endswith("/insufficient-scope")
    assert response.json["missing_scopes"] == ["exchange:write"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_valid_token_reaches_the_view_with_its_principal(http: FlaskClient, world: World) -> None:
    token = world.issued_by()

    response = http.get("/protected", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {
        "partner_id": world.client.partner_id,
        "client_id": world.client.client_id,
        "scopes": ["exchange:write", "inbox:read"],
    }


def test_token_from_the_token_endpoint_opens_the_view(
    http: FlaskClient, session: Session
) -> None:
    client, secret = secret_client(session, partner_id="riec-midden")
    issued = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "exchange:write"},
        auth=(client.client_id, secret),
    ).json
    assert issued is not None

    response = http.get(
        "/protected", headers={"Authorization": f"Bearer {issued['access_token']}"}
    )

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["partner_id"] == "riec-midden"
    assert response.json["scopes"] == ["exchange:write"]


def test_a_misspelt_scope_fails_when_the_view_is_defined() -> None:
    with pytest.raises(ValueError, match=r"unknown scope\(s\): exchange:wirte"):
        require_scope("exchange:wirte")
