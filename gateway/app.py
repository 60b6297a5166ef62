"""The application factory: a pure function of settings; nothing happens at import time."""

from __future__ import annotations

from flask import Flask, Response
from sqlalchemy.engine import Connection, Engine

from gateway import fsc, health, openapi
from gateway.auditing.views import create_audit_blueprint
from gateway.auth.views import create_auth_blueprint
from gateway.cases.views import blueprint as cases_blueprint
from gateway.clock import Clock
from gateway.container import build_container
from gateway.delivery.views import blueprint as inbox_blueprint
from gateway.exchange.views import blueprint as exchange_blueprint
from gateway.identity.views import blueprint as identity_blueprint
from gateway.keys import Keyring
from gateway.linkage.views import blueprint as linkage_blueprint
from gateway.meetings.views import blueprint as meetings_blueprint
from gateway.observability.views import blueprint as metrics_blueprint
from gateway.observability.views import install_request_observation
from gateway.rights.views import blueprint as rights_blueprint
from gateway.settings import Settings
from gateway.statistics.views import blueprint as statistics_blueprint
from gateway.web import install_error_handlers
from gateway.workspace.views import install_workspace


def create_app(
    settings: Settings | None = None,
    *,
    bind: Engine | Connection | None = None,
    keyring: Keyring | None = None,
    clock: Clock | None = None,
) -> Flask:
    settings = settings or Settings.from_env()
    container = build_container(settings, bind=bind, keyring=keyring, clock=clock)
    app = Flask("gateway")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it; the base type does not
    app.extensions["ketenpoort"] = container
    install_error_handlers(app)
    app.before_request(fsc.take_transaction_id)
    app.after_request(fsc.answer_with_transaction_id)
    app.after_request(_api_version)
    install_request_observation(app)
    app.register_blueprint(
        create_auth_blueprint(container.session_factory, container.clients, container.tokens,
                              container.token_limits, container.client_certificates)
    )
    app.register_blueprint(create_audit_blueprint())
    for blueprint in (exchange_blueprint, inbox_blueprint, health.blueprint, openapi.blueprint):
        app.register_blueprint(blueprint)
    for blueprint in (cases_blueprint, meetings_blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(linkage_blueprint)
    app.register_blueprint(identity_blueprint)
    app.register_blueprint(statistics_blueprint)
    app.register_blueprint(rights_blueprint)
    app.register_blueprint(metrics_blueprint)
    install_workspace(app, container.workspace.form_key)
    return app


def _api_version(response: Response) -> Response:
    response.headers["API-Version"] = openapi.API_VERSION
    return response
