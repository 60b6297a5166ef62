"""The authorization server's HTTP face: token endpoint, JWK Set and RFC 8414 metadata.

Thin by design: authlib's Flask ``AuthorizationServer`` speaks the protocol (form parsing,
RFC 6749 error responses, ``Cache-Control: no-store``); ``oauth_server`` and ``services`` decide.
"""

from __future__ import annotations

from functools import partial

# authlib ships no type information; the server object is typed Any here.
from authlib.integrations.flask_oauth2 import (  # type: ignore[import-untyped]
    AuthorizationServer,
)
from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.interfaces import CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT
from gateway.auth.oauth_server import (
    JWKS_PATH,
    METADATA_PATH,
    TOKEN_PATH,
    PartnerClient,
    PartnerClientCredentialsGrant,
    PrivateKeyJWTAuthentication,
    authorization_server_metadata,
    bearer_token_generator,
    client_secret_basic,
    token_endpoint_url,
)
from gateway.auth.rate_limit import TokenRequestLimits
from gateway.auth.services import ClientService, TokenService
from gateway.client_certificates import ClientCertificateSource, PresentedCertificate
from gateway.db import transaction
from gateway.problems import Problem

_PUBLIC_CACHE = "public, max-age=300"


def create_auth_blueprint(
    session_factory: sessionmaker[Session], clients: ClientService, tokens: TokenService,
    limits: TokenRequestLimits, certificates: ClientCertificateSource,
) -> Blueprint:
    """Routes under the issuer's root: ``POST /oauth/token`` and two ``/.well-known`` documents."""
    blueprint = Blueprint("auth", __name__)
    token_endpoint = token_endpoint_url(tokens.issuer)
    metadata = authorization_server_metadata(tokens.issuer)

    @blueprint.post(TOKEN_PATH)
    def token() -> Response:
        # Before any database lookup or scrypt run: refusing must stay cheaper than trying.
        wait = limits.retry_after(request.remote_addr or "", _claimed_client_id())
        if wait is not None:
            raise Problem(429, "too-many-requests", "Too many requests",
                          f"too many token requests; retry in {wait} s",
                          headers={"Retry-After": str(wait)})
        with transaction(session_factory) as session:
            server = _authorization_server(session, clients, tokens, token_endpoint,
                                           certificates.presented(request.environ))
            response: Response = server.create_token_response()
            return response

    @blueprint.get(JWKS_PATH)
    def jwks() -> Response:
        response = jsonify(tokens.public_jwks())
        response.headers["Cache-Control"] = _PUBLIC_CACHE
        return response

    @blueprint.get(METADATA_PATH)
    def server_metadata() -> Response:
        response = jsonify(metadata)
        response.headers["Cache-Control"] = _PUBLIC_CACHE
        return response

    return blueprint


def _claimed_client_id() -> str | None:
    """The client id the request names (unverified): Basic auth's user, or the form's."""
    if request.authorization is not None and request.authorization.username:
        return request.authorization.username
    return request.form.get("client_id")


def _authorization_server(
    session: Session, clients: ClientService, tokens: TokenService, token_endpoint: str,
    certificate: PresentedCertificate | None,
) -> AuthorizationServer:
    """An authlib server bound to this request's session; built per request, so no globals."""

    def query_client(client_id: str) -> PartnerClient | None:
        record = clients.find_active(session, client_id)
        return PartnerClient(record) if record is not None else None

    def save_token(_token: object, _request: object) -> None:
        """Nothing to store: tokens are self-contained JWTs, revoked by revoking the client."""

    server = AuthorizationServer(query_client=query_client, save_token=save_token)
    server.register_token_generator("default", bearer_token_generator(tokens, certificate))
    server.register_grant(PartnerClientCredentialsGrant)
    server.register_client_auth_method(
        CLIENT_SECRET_BASIC, client_secret_basic(partial(clients.authenticate_secret, session))
    )
    server.register_client_auth_method(
        PRIVATE_KEY_JWT,
        PrivateKeyJWTAuthentication(token_endpoint, partial(clients.spend_assertion, session)),
    )
    return server
