"""An app serving the audit read API, and a small log of exchange-shaped events in it.

The app is built like the auth tests build theirs: only what the audit API looks up in the
container (``session_factory``, ``audit``, ``keyring``, ``tokens``), so these tests do not
depend on the policy bundle compiling. ``test_auditing_app.py`` checks the real factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from audit.log import CheckpointSigner, Sequencer
from gateway.auditing.views import create_audit_blueprint
from gateway.auth.services import ClientService
from gateway.container import Container
from gateway.db import transaction
from gateway.keys import Keyring
from gateway.web import install_error_handlers
from tests.factories import COVENANT, GGD, OUTSIDER, POLITIE, RIEC, VLAARDINGEN

PARTNERS = frozenset({GGD, OUTSIDER, POLITIE, RIEC, VLAARDINGEN})

OTHER_COVENANT = "andere-regio-convenant"


def exchange_event(
    actor: str, recipients: list[str], allowed: list[bool], pseudonyms: list[str],
    covenant: str = COVENANT, **extra: Any,
) -> dict[str, Any]:
    """An event shaped like those :class:`ExchangeService` records."""
    return {
        "action": "exchange.delivered" if any(allowed) else "exchange.refused",
        "actor": {"partner": actor, "client": f"{actor}-client"},
        "covenant": covenant,
        "subjects": [{"role": "slachtoffer", "audit_pseudonym": p} for p in pseudonyms],
        "recipients": recipients,
        "decisions": [{"recipient": r, "allowed": a} for r, a in zip(recipients, allowed,
                                                                     strict=True)],
        **extra,
    }


# The seeded log, by name: what each partner took part in is the point of the isolation tests.
SEED: dict[str, dict[str, Any]] = {
    "vl_to_riec": exchange_event(VLAARDINGEN, [RIEC], [True], ["ap-eva"]),
    "vl_to_politie_refused": exchange_event(VLAARDINGEN, [POLITIE], [False], ["ap-piet"]),
    "politie_to_riec_ggd": exchange_event(POLITIE, [RIEC, GGD], [True, False], ["ap-eva"],
                                          covenant=OTHER_COVENANT),
    "riec_inbox_read": {"action": "inbox.read", "actor": {"partner": RIEC, "client": "riec-c"},
                        "identities_disclosed": ["ap-anna"]},
    "ggd_rejected": {"action": "exchange.rejected", "actor": {"partner": GGD, "client": "ggd-c"},
                     "problem": "validation-failed"},
}


@dataclass
class AuditWorld:
    app: Flask
    http: FlaskClient
    keyring: Keyring

    @property
    def container(self) -> Any:
        return self.app.extensions["ketenpoort"]

    def append(self, *events: dict[str, Any]) -> list[str]:
        with transaction(self.container.session_factory) as session:
            return [self.container.audit.append(session, event) for event in events]

    def sequence(self) -> int:
        signer = CheckpointSigner(self.keyring.signing_key("audit-checkpoint"))
        return Sequencer(self.container.session_factory, signer).run_once()

    def seed(self) -> dict[str, str]:
        ids = dict(zip(SEED, self.append(*SEED.values()), strict=True))
        self.sequence()
        return ids

    def headers(self, partner: str, *scopes: str) -> dict[str, str]:
        """A bearer header for a fresh client of ``partner`` holding ``scopes``."""
        with transaction(self.container.session_factory) as session:
            client, _secret = ClientService().create(session, partner, scopes, PARTNERS)
            token = self.container.tokens.issue(client)["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.http.get(path, headers=headers or {}, **kwargs)


@pytest.fixture
def audit_app(container: Container) -> Flask:
    """Only the audit API, on the real container."""
    app = Flask(__name__)
    app.extensions["ketenpoort"] = container
    app.config["MAX_CONTENT_LENGTH"] = container.settings.max_body_bytes
    install_error_handlers(app)
    app.register_blueprint(create_audit_blueprint())
    return app


@pytest.fixture
def world(audit_app: Flask, keyring: Keyring) -> AuditWorld:
    return AuditWorld(audit_app, audit_app.test_client(), keyring)


@pytest.fixture
def seeded(world: AuditWorld) -> dict[str, str]:
    return world.seed()

