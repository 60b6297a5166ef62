"""A small audit log with signed checkpoints, and a victim's re-identification waiting for a
second person: what the privacy officer's pages show."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.log import CheckpointSigner, Sequencer
from gateway.db import transaction
from gateway.delivery.models import Delivery
from tests.factories import EVA, RIEC, VLAARDINGEN, bearer, exchange_body
from tests.workspace.factories import form_token

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


def queued_reidentification(app: Flask, http: FlaskClient) -> str:
    """A victim's signal reaches the RIEC, whose request for the identity then waits in the
    four-eyes queue."""
    send_victim_signal(app, http)
    with transaction(container_of(app).session_factory) as session:
        payload = session.scalars(select(Delivery.payload).where(Delivery.recipient == RIEC)
                                  ).first()
        assert payload is not None
        pseudonym: str = payload["subjects"][0]["pseudonym"]
    return pending_reidentification(app, http, pseudonym)


def decide(client: FlaskClient, reidentification_id: str, decision: str) -> Any:
    """Press *goedkeuren* or *afwijzen* in the four-eyes queue."""
    return client.post(f"/werkruimte/privacy/vier-ogen/{reidentification_id}/{decision}",
                       data={"csrf_token": form_token(client, "/werkruimte/privacy/vier-ogen")})
