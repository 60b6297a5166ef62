"""Meeting factories: a meeting with participants, agenda items, and the agenda views queued."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.identity.envelope import ContentSealer
from gateway.outbox.models import OutboxMessage
from tests.cases.factories import token
from tests.conftest import TEST_TODAY
from tests.factories import RIEC

ADMIN = ("meeting:admin",)
READ = ("meeting:read",)
COVENANT = "riec-rr-mensenhandel"
#: A week ahead of the suite's day: an upcoming meeting, whatever the calendar says.
MEETING_DAY = (TEST_TODAY + timedelta(days=7)).isoformat()


def create_meeting(app: Flask, http: FlaskClient, participants: list[str],
                   day: str = MEETING_DAY) -> str:
    response = http.post("/v1/meetings", json={"covenant": COVENANT, "date": day,
                                               "participants": participants},
                         headers=token(app, RIEC, ADMIN))
    assert response.status_code == 201, response.json
    meeting_id: str = response.json["id"]
    return meeting_id


def add_item(app: Flask, http: FlaskClient, meeting_id: str, case_id: str, title: str
             ) -> dict[str, Any]:
    response = http.post(f"/v1/meetings/{meeting_id}/items", json={
        "case_id": case_id, "title": title, "question": f"Welke aanpak voor {title}?",
        "proposed_decision": "Bestuurlijke aanpak door de gemeente"},
        headers=token(app, RIEC, ADMIN))
    assert response.status_code == 201, response.json
    item: dict[str, Any] = response.json
    return item


def publish(app: Flask, http: FlaskClient, meeting_id: str) -> dict[str, Any]:
    response = http.post(f"/v1/meetings/{meeting_id}/publish", headers=token(app, RIEC, ADMIN))
    assert response.status_code == 200, response.json
    published: dict[str, Any] = response.json
    return published


def agenda(app: Flask, http: FlaskClient, meeting_id: str, partner: str) -> Any:
    return http.get(f"/v1/meetings/{meeting_id}/agenda", headers=token(app, partner, READ))


def queued_views(app: Flask, recipient: str | None = None) -> list[OutboxMessage]:
    """Every agenda view in the outbox (for ``recipient``), oldest first, payloads opened
    (the outbox stores them sealed); the rows are detached, so nothing opened is stored."""
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "agenda.view")
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        messages = list(session.scalars(query.order_by(OutboxMessage.created_at)))
    sealer = ContentSealer(container.keyring)
    for message in messages:
        message.payload = sealer.open(message.payload, message.id)
    return messages
