"""Clients and signed assertions for the auth tests, built through the real services."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, Key
from sqlalchemy.orm import Session

from gateway.auth.models import OAuthClient
from gateway.auth.services import ClientService

PARTNERS = frozenset({"politie", "gemeente-utrecht", "riec-midden"})
DEFAULT_SCOPES = ("exchange:write", "inbox:read")


def secret_client(
    session: Session, partner_id: str = "politie", scopes: tuple[str, ...] = DEFAULT_SCOPES
) -> tuple[OAuthClient, str]:
    client, secret = ClientService().create(session, partner_id, scopes, PARTNERS)
    session.commit()
    return client, secret


def key_client(
    session: Session,
    private_key: Key | None = None,
    partner_id: str = "gemeente-utrecht",
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
) -> tuple[OAuthClient, Key]:
    """A private_key_jwt client and the private key it signs assertions with."""
    key = private_key or ECKey.generate_key("P-256", auto_kid=True)
    client, _secret = ClientService().create(session, partner_id, scopes, PARTNERS)
    ClientService().register_jwk(session, client.client_id, key.as_dict(private=False))
    session.commit()
    return client, key


def assertion(
    key: Key,
    client_id: str,
    audience: str,
    *,
    alg: str = "ES256",
    jti: str | None = None,
    expires_in: int = 60,
    **claims: Any,
) -> str:
    """An RFC 7523 client assertion signed with ``key``; ``claims`` override the defaults."""
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + expires_in,
        "jti": jti or uuid.uuid4().hex,
        **claims,
    }
    header = {"alg": alg, "kid": key.kid} if key.kid else {"alg": alg}
    return jwt.encode(header, payload, key, algorithms=[alg])


def hand_made_jwt(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes = b"") -> str:
    """A JWT built the way an attacker would, bypassing the safety checks of JOSE libraries.

    Signed with HMAC-SHA256 over ``hmac_key`` when given, else left unsigned (for ``alg: none``).
    """
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = (
        hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest() if hmac_key else b""
    )
    return f"{signing_input}.{_b64(signature)}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
