"""Sign-in through a partner organisation's own identity provider: OpenID Connect
authorization code flow with PKCE (S256), one provider per partner.

authlib's OAuth 2.0 client builds the authorization URL and redeems the code; the ID token is
checked here, on the product's clock: signature (the provider's JWKS), issuer, audience, expiry,
issue time and the nonce of this very sign-in. State, nonce and code verifier are kept
server-side and used once, so a replayed callback finds nothing.

Providers are configured in ``<instance>/oidc-providers.json``::

    {"gemeente-vlaardingen": {"issuer": "https://login.vlaardingen.nl",
                              "client_id": "ketenpoort", "client_secret": "...",
                              "role_claim": "ketenpoort_roles"}}
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import requests
from authlib.integrations.base_client import (  # type: ignore[import-untyped]  # no stubs
    OAuthError,
)
from authlib.integrations.requests_client import (  # type: ignore[import-untyped]  # no stubs
    OAuth2Session,
)
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import transaction
from gateway.settings import SettingsError
from gateway.workspace.accounts import Account, AccountError, Accounts
from gateway.workspace.models import OidcFlow
from gateway.workspace.roles import ROLES

PROVIDERS_FILE = "oidc-providers.json"
FLOW_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=2)
HTTP_TIMEOUT_SECONDS = 10.0
SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")


class OidcError(Exception):
    """A sign-in through an identity provider failed; the message is for the log."""


@dataclass(frozen=True)
class IdentityProvider:
    partner: str
    issuer: str
    client_id: str
    client_secret: str
    role_claim: str = "roles"
    email_claim: str = "email"


def load_providers(instance_path: Path, known_partners: frozenset[str]
                   ) -> dict[str, IdentityProvider]:
    """The configured providers by partner; none when the instance has no providers file."""
    path = instance_path / PROVIDERS_FILE
    if not path.exists():
        return {}
    providers = {}
    for partner, config in json.loads(path.read_text()).items():
        if partner not in known_partners:
            raise SettingsError(f"{path}: {partner!r} is no partner of the covenants")
        try:
            providers[partner] = IdentityProvider(partner=partner, **config)
        except TypeError as exc:
            raise SettingsError(f"{path}: {partner}: {exc}") from None
    return providers


class OidcSignIn:
    def __init__(self, providers: dict[str, IdentityProvider], accounts: Accounts,
                 session_factory: sessionmaker[Session], now: Callable[[], datetime]) -> None:
        self.providers = providers
        self.accounts = accounts
        self.session_factory = session_factory
        self.now = now
        self._metadata: dict[str, dict[str, Any]] = {}

    def begin(self, partner: str, redirect_uri: str) -> tuple[str, str]:
        """The provider's authorization URL and the state the callback must bring back."""
        provider = self._provider(partner)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        client = self._client(provider, redirect_uri)
        url, _ = client.create_authorization_url(
            self._discover(provider)["authorization_endpoint"], state=state,
            code_verifier=verifier, nonce=nonce)
        with transaction(self.session_factory) as session:
            session.add(OidcFlow(state_digest=_digest(state), partner=partner, nonce=nonce,
                                 code_verifier=verifier, created_at=self.now()))
        return url, state

    def finish(self, partner: str, state: str, code: str, redirect_uri: str) -> Account:
        """Redeem the code and check the ID token; the person's account, made on first use."""
        provider = self._provider(partner)
        flow = self._take_flow(partner, state)
        metadata = self._discover(provider)
        try:
            token = self._client(provider, redirect_uri).fetch_token(
                metadata["token_endpoint"], code=code, code_verifier=flow.code_verifier,
                timeout=HTTP_TIMEOUT_SECONDS)
        except (OAuthError, requests.RequestException, ValueError) as exc:
            # A stolen code under another sign-in's verifier ends here: PKCE fails.
            raise OidcError(f"the code was not redeemed: {exc}") from None
        claims = self._id_token_claims(provider, metadata, token.get("id_token"), flow.nonce)
        role = _role(claims.get(provider.role_claim))
        try:
            return self.accounts.federated(partner, str(claims["sub"]),
                                           str(claims.get(provider.email_claim, "")), role)
        except AccountError as exc:
            raise OidcError(str(exc)) from None

    def _take_flow(self, partner: str, state: str) -> OidcFlow:
        """The sign-in the state belongs to, removed: a state is good for one callback."""
        with transaction(self.session_factory) as session:
            flow = session.get(OidcFlow, _digest(state))
            if flow is None:
                raise OidcError("unknown or used state")
            session.execute(delete(OidcFlow).where(OidcFlow.state_digest == flow.state_digest))
            session.execute(delete(OidcFlow).where(
                OidcFlow.created_at < self.now() - FLOW_LIFETIME))
            if flow.partner != partner or flow.created_at + FLOW_LIFETIME < self.now():
                raise OidcError("the state belongs to another or an expired sign-in")
            session.expunge(flow)
            return flow

    def _id_token_claims(self, provider: IdentityProvider, metadata: dict[str, Any],
                         id_token: Any, nonce: str) -> dict[str, Any]:
        if not isinstance(id_token, str):
            raise OidcError("the provider sent no ID token")
        keys = KeySet.import_key_set(cast(KeySetSerialization, _get_json(metadata["jwks_uri"])))
        try:
            claims = jwt.decode(id_token, keys, algorithms=list(SIGNING_ALGORITHMS)).claims
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token's signature does not hold: {exc}") from None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        now = self.now().timestamp()
        failures = [
            ("iss", claims.get("iss") != provider.issuer),
            ("aud", provider.client_id not in audiences),
            ("azp", len(audiences) > 1 and claims.get("azp") != provider.client_id),
            ("exp", not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now),
            ("iat", not isinstance(claims.get("iat"), int | float)
             or claims["iat"] > now + CLOCK_SKEW.total_seconds()),
            ("nonce", not isinstance(claims.get("nonce"), str)
             or not secrets.compare_digest(claims["nonce"], nonce)),
            ("sub", not claims.get("sub")),
        ]
        wrong = [name for name, failed in failures if failed]
        if wrong:
            raise OidcError(f"the ID token fails on {', '.join(wrong)}")
        return dict(claims)

    def _discover(self, provider: IdentityProvider) -> dict[str, Any]:
        if provider.partner not in self._metadata:
            metadata = _get_json(provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if metadata.get("issuer") != provider.issuer:
                raise OidcError("the provider's metadata names another issuer")
            self._metadata[provider.partner] = metadata
        return self._metadata[provider.partner]

    def _provider(self, partner: str) -> IdentityProvider:
        if partner not in self.providers:
            raise OidcError(f"no identity provider for {partner!r}")
        return self.providers[partner]

    @staticmethod
    def _client(provider: IdentityProvider, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(provider.client_id, provider.client_secret, scope="openid email",
                             redirect_uri=redirect_uri, code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_basic")  # noqa: S106 -- a method name


def _role(claimed: Any) -> str:
    """The first known role in the claim (a string or a list of strings)."""
    values = claimed if isinstance(claimed, list) else [claimed]
    return next((value for value in values if value in ROLES), "")


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcError(f"{url} did not answer with JSON: {exc}") from None
    if not isinstance(document, dict):
        raise OidcError(f"{url} did not answer with a JSON object")
    return document


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()
