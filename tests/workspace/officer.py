"""A small audit log with signed checkpoints, and a victim's re-identification waiting for a
second person: what the privacy officer's pages show."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from audit.log import CheckpointSigner, Sequencer
from gateway.db import transaction
from tests.factories import EVA, RIEC, VLAARDINGEN, bearer, exchange_body

OFFICER = "privacyfunctionaris"
REGIONAL_OFFICER = "privacyfunctionaris-regio"
REASON = "dossiervorming vraagt de identiteit voor het casusoverleg"


def container_of(app: Flask) -> Any:
    return app.extensions["ketenpoort"]


def sequence(app: Flask) -> int:
    """Integrate the pending entries and sign a checkpoint, as the sequencer does."""
    container = container_of(app)
    signer = CheckpointSigner(container.keyring.signing_key("audit-checkpoint"))
    return Sequencer(container.session_factory, signer).run_once()


def append(app: Flask, *events: dict[str, Any]) -> list[str]:
    container = container_of(app)
    with transaction(container.session_factory) as session:
        return [container.audit.append(session, event) for event in events]


def send_victim_signal(app: Flask, http: FlaskClient, step: str = "dossiervorming") -> None:
    body = exchange_body(process_step=step, subjects=[
        {"ref": "p1", "role": "slachtoffer", "identifiers": dict(EVA)}])
    response = http.post("/v1/exchanges", json=body, headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json


def pending_reidentification(app: Flask, http: FlaskClient, pseudonym: str) -> str:
    """A RIEC client's request for a victim's identity, held for a second person."""
    response = http.post("/v1/reidentifications", json={"pseudonym": pseudonym,
                                                        "reason": REASON},
                         headers=bearer(app, RIEC, ("reidentify",)))
    assert response.status_code == 202, response.json
    identifier: str = response.json["id"]
    return identifier
