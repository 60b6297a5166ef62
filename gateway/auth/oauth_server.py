"""The auth services seen through authlib's framework-neutral OAuth 2.0 core.

Nothing here imports Flask: ``views`` puts these parts into authlib's Flask
``AuthorizationServer``. Every class narrows an authlib extension point, and its docstring says
which attack the narrowing closes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

# authlib ships no type information; everything taken from it is typed Any here.
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    ClientCredentialsGrant,
    InvalidClientError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6749.util import (  # type: ignore[import-untyped]
    extract_basic_authorization,
    scope_to_list,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from gateway.auth.interfaces import (
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT,
    SCOPES,
    TOKEN_ENDPOINT_AUTH_METHODS,
    CertificateRequired,
)
from gateway.auth.models import OAuthClient
from gateway.auth.services import ASSERTION_ALGORITHMS, CLOCK_SKEW_SECONDS, TokenService
from gateway.client_certificates import PresentedCertificate

TOKEN_PATH = "/oauth/token"  # noqa: S105 -- a URL path, not a password
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
CLIENT_CREDENTIALS = "client_credentials"
_MAX_JTI_LENGTH = 255  # the width of oauth_used_assertion.jti
#: RFC 7523 leaves the lifetime to the server; five minutes covers any clock skew we accept.
MAX_ASSERTION_LIFETIME_SECONDS = 300

SecretAuthenticator = Callable[[str, str], OAuthClient | None]
AssertionSpender = Callable[[str, str, datetime], bool]


class PartnerClient:
    """authlib's view of an :class:`OAuthClient`: token endpoint only, one auth method."""

    def __init__(self, record: OAuthClient) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.client_id

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method == self.record.token_endpoint_auth_method

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == CLIENT_CREDENTIALS


class PartnerClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]  # authlib is untyped
    """Client credentials, with scopes limited to what the client was given.

    authlib's default only checks requested scopes against the server's list, which would let
    any client ask for ``reidentify``; here a request for more than the client holds fails.
    """

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(TOKEN_ENDPOINT_AUTH_METHODS)

    def validate_requested_scope(self) -> None:
        requested = scope_to_list(self.request.payload.scope) or []
        held = self.request.client.record.scope_set
        excess = set(requested) - held
        if excess:
            raise InvalidScopeError(
                description=f"scope not granted to this client: {' '.join(sorted(excess))}"
            )


class PrivateKeyJWTAuthentication(JWTBearerClientAssertion):  # type: ignore[misc]  # authlib is untyped
    """``private_key_jwt`` (RFC 7523 section 2.2) against the client's registered public keys.

    Narrowed from authlib's defaults: the assertion's ``alg`` must be one of
    :data:`ASSERTION_ALGORITHMS` (so no ``none`` and no HMAC keyed with a public key), its
    audience must be exactly our token endpoint (an assertion made for another server cannot be
    replayed here), it lives at most five minutes, and each ``jti`` is spent once.
    """

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, token_endpoint: str, spend_assertion: AssertionSpender) -> None:
        super().__init__(validate_jti=True, leeway=CLOCK_SKEW_SECONDS)
        self._token_endpoint = token_endpoint
        self._spend_assertion = spend_assertion

    def get_audiences(self) -> list[str]:
        return [self._token_endpoint]

    def resolve_client_public_key(self, client: PartnerClient) -> KeySet:
        if not client.record.jwks:
            raise InvalidClientError(description="the client has no registered public key")
        return KeySet.import_key_set(cast(KeySetSerialization, client.record.jwks))

    def verify_claims(self, claims: dict[str, Any]) -> None:
        """authlib's checks (``exp`` and a present ``iat`` not in the future), after ours:
        ``iat`` is required and the assertion lives at most
        :data:`MAX_ASSERTION_LIFETIME_SECONDS`, so a stolen one is not good for years."""
        issued, expires = claims.get("iat"), claims.get("exp")
        if not (isinstance(issued, int | float) and isinstance(expires, int | float)):
            raise InvalidClientError(description="the assertion needs numeric iat and exp")
        if not 0 < expires - issued <= MAX_ASSERTION_LIFETIME_SECONDS:
            raise InvalidClientError(description="the assertion may live at most "
                                                 f"{MAX_ASSERTION_LIFETIME_SECONDS} s (exp - iat)")
        super().verify_claims(claims)

    def process_assertion_claims(self, assertion: str, resolve_key: KeySet) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ASSERTION_ALGORITHMS))
        except JoseError as exc:
            raise InvalidClientError(description=exc.description or exc.error) from None
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        if len(jti) > _MAX_JTI_LENGTH or not jti.isprintable():
            raise InvalidClientError(
                description=f"jti must be printable and at most {_MAX_JTI_LENGTH} characters"
            )
        expires_at = datetime.fromtimestamp(claims["exp"] + CLOCK_SKEW_SECONDS, UTC)
        return self._spend_assertion(claims["sub"], jti, expires_at)


def client_secret_basic(authenticate: SecretAuthenticator) -> Callable[..., PartnerClient | None]:
    """authlib's ``client_secret_basic``, with the secret checked by the client service.

    Replaces authlib's built-in, which tells an unknown client id apart from a wrong secret;
    this one answers both the same way, in the same time.
    """

    def authenticate_client_secret_basic(_query_client: Any, request: Any) -> PartnerClient | None:
        client_id, secret = extract_basic_authorization(request.headers)
        if not client_id or not secret:
            return None
        record = authenticate(client_id, secret)
        return PartnerClient(record) if record is not None else None

    return authenticate_client_secret_basic


def bearer_token_generator(
    tokens: TokenService, certificate: PresentedCertificate | None = None
) -> Callable[..., dict[str, Any]]:
    """authlib's token generator hook, issuing our signed JWTs; no scope asked means all held.

    ``certificate`` is the client certificate of the request's connection: the token is
    bound to it (RFC 8705), and a partner that requires one gets ``invalid_client`` without.
    """

    def generate(client: PartnerClient, scope: str | None = None, **_grant: Any) -> dict[str, Any]:
        requested = scope_to_list(scope)
        try:
            return tokens.issue(client.record, frozenset(requested) if requested else None,
                                certificate)
        except CertificateRequired as exc:
            raise InvalidClientError(description=str(exc)) from None

    return generate


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    """RFC 8414 metadata; endpoint URLs hang off the issuer, where the blueprint is mounted."""
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "token_endpoint": base + TOKEN_PATH,
        "jwks_uri": base + JWKS_PATH,
        "scopes_supported": list(SCOPES),
        # No authorization endpoint: partner systems act for themselves, never for a user.
        "response_types_supported": [],
        "grant_types_supported": [CLIENT_CREDENTIALS],
        "token_endpoint_auth_methods_supported": [CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        # RFC 8705 section 3.3: tokens are bound to the client certificate the request shows.
        "tls_client_certificate_bound_access_tokens": True,
    }


def token_endpoint_url(issuer: str) -> str:
    return issuer.rstrip("/") + TOKEN_PATH
