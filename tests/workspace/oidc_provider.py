"""A partner's identity provider for the tests, built from authlib's server components:
discovery, JWKS, the authorization endpoint (which signs in one configured person at once)
and the token endpoint, for the authorization code grant with PKCE and OpenID Connect.

Its ID tokens carry times from the clock it is given (the gateway's), and it can be told to
misbehave the way the attack tests need: another issuer, an ID token that has expired.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify
from joserfc.jwk import ECKey
from werkzeug.serving import make_server

from gateway.clock import Clock

CLIENT_ID = "ketenpoort"
CLIENT_SECRET = "provider-test-secret"
CODE_LIFETIME_SECONDS = 60


@dataclass
class Person:
    sub: str
    email: str
    roles: list[str]


@dataclass
class Client:
    redirect_uri: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "email"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    person: Person
    issued_at: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.issued_at.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Provider:
    """What the provider does; the tests change it between sign-ins."""

    clock: Clock
    person: Person
    issuer: str = ""
    issuer_in_tokens: str = ""  # empty: the provider's own issuer
    id_token_lifetime_seconds: int = 300
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", private=True))
    codes: dict[str, Code] = field(default_factory=dict)
    client: Client | None = None
    issued_id_tokens: list[str] = field(default_factory=list)
    replay_id_token: str = ""  # sent instead of a new ID token: a replayed one


def provider_app(provider: Provider) -> Flask:
    app = Flask("test-identity-provider")

    class AuthorizationCode(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]  # noqa: RUF012 -- authlib's API

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            provider.codes[code] = Code(
                code=code, client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri, scope=request.payload.scope,
                nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                person=request.user, issued_at=provider.clock.now())

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            found = provider.codes.get(code)
            fresh = found is not None and (
                provider.clock.now() - found.issued_at).total_seconds() < CODE_LIFETIME_SECONDS
            return found if fresh and found.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> Person:
            return authorization_code.person

    class OpenIDConnect(OpenIDCode):  # type: ignore[misc]
        def exists_nonce(self, nonce: str, request: Any) -> bool:
            return any(code.nonce == nonce for code in provider.codes.values())

        def resolve_client_private_key(self, client: Client) -> ECKey:
            return provider.key

        def get_client_algorithm(self, client: Client) -> str:
            return "ES256"

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            now = int(provider.clock.now().timestamp())
            return {"iss": provider.issuer_in_tokens or provider.issuer,
                    "aud": [client.get_client_id()], "iat": now, "auth_time": now,
                    "exp": now + provider.id_token_lifetime_seconds}

        def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
            issued: str = provider.replay_id_token or super().encode_id_token(token, request)
            provider.issued_id_tokens.append(issued)
            return issued

        def generate_user_info(self, user: Person, scope: str) -> UserInfo:
            return UserInfo(sub=user.sub, email=user.email, roles=user.roles)

    def query_client(client_id: str) -> Client | None:
        client = provider.client
        return client if client is not None and client.client_id == client_id else None

    def save_token(token: dict[str, Any], request: Any) -> None:
        """Access tokens are not kept: nothing here serves resources."""

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCode, [OpenIDConnect(require_nonce=True),
                                              CodeChallenge(required=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify({
            "issuer": provider.issuer,
            "authorization_endpoint": f"{provider.issuer}/authorize",
            "token_endpoint": f"{provider.issuer}/token",
            "jwks_uri": f"{provider.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
        })

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify({"keys": [provider.key.as_dict(private=False)]})

    @app.get("/authorize")
    def authorize() -> Any:
        # The configured person is signed in and consents at once; the grant checks the rest.
        grant = server.get_consent_grant(end_user=provider.person)
        return server.create_authorization_response(grant=grant, grant_user=provider.person)

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    return app


@contextmanager
def running(provider: Provider) -> Iterator[Provider]:
    """The provider on a free loopback port; ``provider.issuer`` says where."""
    server = make_server("127.0.0.1", 0, provider_app(provider), threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=10)


