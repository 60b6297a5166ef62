"""An app with the auth blueprint and one protected view, on the per-test database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.auth.services import ClientService, TokenService
from gateway.auth.views import create_auth_blueprint
from gateway.clock import ManualClock
from gateway.container import token_request_limits
from gateway.db import make_session_factory
from gateway.keys import Keyring
from gateway.settings import Settings
from gateway.web import install_error_handlers

ISSUER = "https://ketenpoort.test"
AUDIENCE = "ketenpoort"
TOKEN_ENDPOINT = ISSUER + "/oauth/token"


@pytest.fixture
def tokens(keyring: Keyring) -> TokenService:
    return TokenService(keyring, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900)


@pytest.fixture
def limit_settings() -> Settings:
    return Settings()


@pytest.fixture
def app(connection: Connection, tokens: TokenService, clock: ManualClock, keyring: Keyring,
        limit_settings: Settings) -> Flask:
    session_factory = make_session_factory(connection)
    app = Flask(__name__)
    certificates = limit_settings.client_certificate_settings
    app.extensions["ketenpoort"] = SimpleNamespace(session_factory=session_factory, tokens=tokens,
                                                   client_certificates=certificates)
    install_error_handlers(app)
    limits = token_request_limits(limit_settings, session_factory, keyring, clock)
    app.register_blueprint(create_auth_blueprint(session_factory, ClientService(), tokens,
                                                 limits, certificates))

    @app.get("/protected")
    @require_scope("exchange:write")
    def protected(principal: Principal) -> dict[str, Any]:
        return {
            "partner_id": principal.partner_id,
            "client_id": principal.client_id,
            "scopes": sorted(principal.scopes),
        }

    return app


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()
