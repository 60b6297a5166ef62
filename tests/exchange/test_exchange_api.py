"""POST /v1/exchanges end to end: decisions, deliveries, audit, idempotency, fail-closed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from audit.interfaces import AuditRecord
from audit.log import AuditLog
from audit.models import AuditEntry
from gateway.db import transaction
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.identity.models import Subject
from gateway.linkage.models import LinkageRecord
from tests.factories import (
    EVA,
    GGD,
    OUTSIDER,
    PIETER,
    POLITIE,
    RIEC,
    VLAARDINGEN,
    bearer,
    exchange_body,
    item,
)


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _audit_actions(session: Session) -> list[str]:
    return [json.loads(e.entry)["action"] for e in session.scalars(
        select(AuditEntry).order_by(AuditEntry.id))]


def test_signal_to_the_riec_is_delivered_pseudonymised(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    response = http.post("/v1/exchanges", json=exchange_body(),
                         headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "decisions", "audit_event_id"}
    [decision] = body["decisions"]
    assert decision["recipient"] == RIEC
    assert decision["allowed"] is True
    assert decision["categories_delivered"] == ["uitbuitingssignalen"]
    assert decision["categories_withheld"] == []
    assert decision["identity"] == "pseudonym"
    assert response.headers["Location"] == f"/v1/exchanges/{body['id']}"
    assert _count(session, Delivery) == 1
    assert _audit_actions(session) == ["exchange.delivered"]


def test_detectie_signal_to_anyone_but_the_riec_is_refused_and_audited(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    response = http.post("/v1/exchanges", json=exchange_body(recipients=[POLITIE]),
                         headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    [decision] = response.json["decisions"]
    assert decision["allowed"] is False
    assert decision["reasons"], "a refusal must say why"
    assert response.json["audit_event_id"]
    assert _count(session, Delivery) == 0
    assert _audit_actions(session) == ["exchange.refused"]


def test_mixed_recipients_get_their_own_decisions(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    response = http.post("/v1/exchanges", json=exchange_body(recipients=[RIEC, POLITIE]),
                         headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 201
    allowed = {d["recipient"]: d["allowed"] for d in response.json["decisions"]}
    assert allowed == {RIEC: True, POLITIE: False}
    deliveries = session.scalars(select(Delivery)).all()
    assert [d.recipient for d in deliveries] == [RIEC]


def test_a_partner_outside_the_covenant_can_neither_send_nor_receive(
    gateway_app: Flask, http: FlaskClient
) -> None:
    sent = http.post("/v1/exchanges", json=exchange_body(),
                     headers=bearer(gateway_app, OUTSIDER))
    received = http.post("/v1/exchanges", json=exchange_body(recipients=[OUTSIDER]),
                         headers=bearer(gateway_app, VLAARDINGEN))

    assert sent.status_code == 403
    assert received.status_code == 403


def test_idempotent_retry_returns_the_first_answer_and_stores_one_exchange(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    headers = {**bearer(gateway_app, VLAARDINGEN), "Idempotency-Key": "signal-42"}

    first = http.post("/v1/exchanges", json=exchange_body(), headers=headers)
    second = http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    assert _count(session, Exchange) == 1
    assert _count(session, Delivery) == 1


def test_idempotent_retry_of_a_refusal_is_the_same_refusal(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    headers = {**bearer(gateway_app, VLAARDINGEN), "Idempotency-Key": "refused-1"}
    body = exchange_body(recipients=[POLITIE])

    first = http.post("/v1/exchanges", json=body, headers=headers)
    second = http.post("/v1/exchanges", json=body, headers=headers)

    assert first.status_code == second.status_code == 403
    assert first.json == second.json
    assert _count(session, Exchange) == 1


def test_reusing_an_idempotency_key_for_another_body_is_a_conflict(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    headers = {**bearer(gateway_app, VLAARDINGEN), "Idempotency-Key": "signal-43"}
    http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    other = exchange_body(items=[item("huisvesting", bewoners=14)])
    response = http.post("/v1/exchanges", json=other, headers=headers)

    assert response.status_code == 409
    assert response.json["type"].endswith("/idempotency-key-reused")
    assert _count(session, Exchange) == 1


def test_idempotency_keys_are_scoped_to_the_client(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    for _ in range(2):
        headers = {**bearer(gateway_app, VLAARDINGEN), "Idempotency-Key": "same-key"}
        assert http.post("/v1/exchanges", json=exchange_body(), headers=headers).status_code == 201

    assert _count(session, Exchange) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tkey"])
def test_a_malformed_idempotency_key_is_refused(
    gateway_app: Flask, http: FlaskClient, key: str
) -> None:
    headers = {**bearer(gateway_app, VLAARDINGEN), "Idempotency-Key": key}

    response = http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    assert response.status_code == 400
    assert response.json["type"].endswith("/invalid-idempotency-key")


class BrokenAuditLog(AuditLog):
    """An audit log whose database write fails, as when the audit table refuses the insert."""

    def write(self, session: Session, record: AuditRecord) -> str:
        raise OperationalError("INSERT INTO audit_entries", {}, Exception("disk full"))


def test_no_audit_record_means_no_exchange(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    headers = bearer(gateway_app, VLAARDINGEN)
    container = gateway_app.extensions["ketenpoort"]
    container.exchanges.audit = BrokenAuditLog(container.clock.now)

    response = http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert _count(session, Exchange) == 0
    assert _count(session, Delivery) == 0


def test_the_audit_entry_names_persons_only_by_audit_pseudonym(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    http.post("/v1/exchanges", json=exchange_body(), headers=bearer(gateway_app, VLAARDINGEN))

    [entry] = session.scalars(select(AuditEntry)).all()
    for value in EVA.values():
        assert value not in entry.entry
    assert '"audit_pseudonym"' in entry.entry


@pytest.mark.parametrize(
    ("recipients", "category"),
    [
        pytest.param([RIEC], "gezondheid", id="withheld-item"),
        pytest.param([RIEC, GGD], "uitbuitingssignalen", id="only-for-a-refused-recipient"),
    ],
)
def test_a_person_named_only_in_undelivered_items_is_never_registered(
    gateway_app: Flask, http: FlaskClient, recipients: list[str], category: str
) -> None:
    """Minimisation: the vault and the linkage index learn only of persons someone receives."""
    container = gateway_app.extensions["ketenpoort"]

    def registered() -> tuple[int, int]:
        with transaction(container.session_factory) as session:
            return (session.scalar(select(func.count()).select_from(Subject)) or 0,
                    session.scalar(select(func.count()).select_from(LinkageRecord)) or 0)

    before = registered()
    body = exchange_body(
        recipients=recipients,
        subjects=[{"ref": "p1", "role": "slachtoffer", "identifiers": EVA},
                  {"ref": "p2", "role": "dader", "identifiers": PIETER}],
        items=[item("uitbuitingssignalen", "p1"), item(category, "p2")],
    )
    if category == "uitbuitingssignalen":  # p2 only in the item for the GGD, which is refused
        body["items"][1]["category"] = "gezondheid"
    response = http.post("/v1/exchanges", json=body, headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 201, response.json
    assert registered() == (before[0] + 1, before[1] + 1)


def test_the_location_of_an_exchange_answers_its_sender_with_what_it_was_told(
    gateway_app: Flask, http: FlaskClient
) -> None:
    sent = http.post("/v1/exchanges", json=exchange_body(),
                     headers=bearer(gateway_app, VLAARDINGEN))

    read = http.get(sent.headers["Location"], headers=bearer(gateway_app, VLAARDINGEN))

    assert read.status_code == 200, read.json
    assert read.json["id"] == sent.json["id"]
    assert read.json["decisions"] == sent.json["decisions"]
    assert read.json["audit_event_id"] == sent.json["audit_event_id"]
    assert (read.json["status"], read.json["process_step"]) == ("delivered", "detectie")


@pytest.mark.parametrize("reader", [RIEC, POLITIE])
def test_another_partners_exchange_is_as_absent_as_none(
    gateway_app: Flask, http: FlaskClient, reader: str
) -> None:
    """The recipient, too, sees its delivery in the inbox, never the sender's exchange."""
    sent = http.post("/v1/exchanges", json=exchange_body(),
                     headers=bearer(gateway_app, VLAARDINGEN))
    absent = http.get(f"/v1/exchanges/{uuid.uuid4()}", headers=bearer(gateway_app, reader))

    foreign = http.get(sent.headers["Location"], headers=bearer(gateway_app, reader))

    assert foreign.status_code == absent.status_code == 404
    assert foreign.json["detail"].replace(sent.json["id"], "X") == absent.json["detail"].replace(
        absent.json["instance"].rsplit("/", 1)[-1], "X")
