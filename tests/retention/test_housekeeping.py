"""The gateway's own terms: re-identification requests and settled outbox messages expire."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.container import Container
from gateway.identity.models import Reidentification
from gateway.outbox.models import OutboxMessage
from gateway.retention.services import RetentionService, months_before
from tests.conftest import TEST_MORNING
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body
from tests.outbox.draining import drain_until_settled

REASON = "Onderzoek naar de situatie van het slachtoffer in zaak 2026-17"


def _retention(app: Flask) -> RetentionService:
    container: Container = app.extensions["ketenpoort"]
    return RetentionService(container.session_factory, lambda: container.bundle,
                            container.vault, container.audit, container.clock,
                            container.retention.terms)


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _actions(session: Session, action: str) -> list[dict[str, Any]]:
    entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    return [e for e in entries if e["action"] == action]


def _asked_once(app: Flask, http: FlaskClient) -> None:
    sent = http.post("/v1/exchanges", json=exchange_body(), headers=bearer(app, VLAARDINGEN))
    assert sent.status_code == 201
    [delivery] = http.get("/v1/inbox", headers=bearer(app, RIEC)).json["items"]
    asked = http.post("/v1/reidentifications",
                      json={"pseudonym": delivery["subjects"][0]["pseudonym"], "reason": REASON},
                      headers=bearer(app, RIEC, ("reidentify",)))
    assert asked.status_code in (200, 202, 403), asked.json  # every answer keeps a row


def test_a_reidentification_request_goes_when_its_term_has_passed(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _asked_once(gateway_app, http)
    months = gateway_app.extensions["ketenpoort"].settings.reidentification_retention_months
    retention = _retention(gateway_app)

    kept = retention.run(now=months_before(TEST_MORNING, -months) - timedelta(days=1))
    assert (kept.reidentifications, _count(session, Reidentification)) == (0, 1)

    removed = retention.run(now=months_before(TEST_MORNING, -months) + timedelta(days=1))
    assert (removed.reidentifications, _count(session, Reidentification)) == (1, 0)
    [entry] = _actions(session, "retention.reidentifications_removed")
    assert entry["count"] == 1
    assert REASON not in json.dumps(entry)


def test_a_settled_outbox_message_goes_when_its_term_has_passed_a_pending_one_stays(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    for _ in range(2):
        sent = http.post("/v1/exchanges", json=exchange_body(),
                         headers=bearer(gateway_app, VLAARDINGEN))
        assert sent.status_code == 201
    drain_until_settled(gateway_app)
    pending = session.scalars(select(OutboxMessage.id)).first()
    session.execute(update(OutboxMessage).values(finished_at=TEST_MORNING))
    session.execute(update(OutboxMessage).where(OutboxMessage.id == pending)
                    .values(state="pending", finished_at=None))
    session.flush()
    days = gateway_app.extensions["ketenpoort"].settings.outbox_retention_days
    retention = _retention(gateway_app)

    assert retention.run(now=TEST_MORNING + timedelta(days=days - 1)).outbox_messages == 0
    assert retention.run(now=TEST_MORNING + timedelta(days=days + 1)).outbox_messages == 1
    assert session.scalars(select(OutboxMessage.id)).all() == [pending]
    [entry] = _actions(session, "retention.outbox_removed")
    assert entry["count"] == 1
