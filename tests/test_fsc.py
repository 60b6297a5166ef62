"""The FSC transaction id: taken or created, answered, and carried into audit entry and delivery."""

from __future__ import annotations

import json
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.fsc import HEADER
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body


def _entries(session: Session) -> list[dict[str, object]]:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    return [json.loads(row.entry) for row in rows]


def test_a_request_without_one_is_given_a_new_transaction_id(http: FlaskClient) -> None:
    first, second = http.get("/healthz"), http.get("/healthz")

    assert uuid.UUID(first.headers[HEADER]) != uuid.UUID(second.headers[HEADER])


def test_an_exchange_carries_the_callers_transaction_into_log_and_delivery(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    transaction = str(uuid.uuid4())
    sent = http.post("/v1/exchanges", json=exchange_body(),
                     headers={**bearer(gateway_app, VLAARDINGEN), HEADER: transaction})

    assert sent.status_code == 201, sent.json
    assert sent.headers[HEADER] == transaction
    [entry] = _entries(session)
    assert entry["transaction_id"] == transaction
    [delivery] = http.get("/v1/inbox", headers=bearer(gateway_app, RIEC)).json["items"]
    assert delivery["transaction_id"] == transaction

