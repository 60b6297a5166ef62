"""Bad input gets a clear problem+json naming the field, and changes nothing but the audit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.exchange.validation import MAX_ITEM_CONTENT_BYTES, MAX_RECIPIENTS
from gateway.identity.models import Subject
from tests.factories import EVA, RIEC, VLAARDINGEN, bearer, exchange_body, item

SUBJECT = {"ref": "p1", "role": "slachtoffer", "identifiers": EVA}

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown top-level field", exchange_body(urgent=True), "/urgent"),
    ("missing covenant", {k: v for k, v in exchange_body().items() if k != "covenant"},
     "/covenant"),
    ("missing items", {k: v for k, v in exchange_body().items() if k != "items"}, "/items"),
    ("unknown covenant", exchange_body(covenant="convenant-onbekend"), "/covenant"),
    ("purpose outside covenant", exchange_body(purpose="marketing"), "/purpose"),
    ("unknown step", exchange_body(process_step="opsporing"), "/process_step"),
    ("unknown recipient", exchange_body(recipients=["gemeente-atlantis"]), "/recipients/0"),
    ("duplicate recipient", exchange_body(recipients=[RIEC, RIEC]), "/recipients/1"),
    ("empty recipients", exchange_body(recipients=[]), "/recipients"),
    ("too many recipients", exchange_body(recipients=[RIEC] * (MAX_RECIPIENTS + 1)),
     "/recipients"),
    ("unknown category", exchange_body(items=[item("horoscoop")]), "/items/0/category"),
    ("dangling subject_ref", exchange_body(items=[item("uitbuitingssignalen", "p9")]),
     "/items/0/subject_ref"),
    ("duplicate subject ref", exchange_body(subjects=[SUBJECT, SUBJECT]), "/subjects/1/ref"),
    ("unknown role", exchange_body(subjects=[{**SUBJECT, "role": "buurman"}]),
     "/subjects/0/role"),
    ("bad BSN", exchange_body(subjects=[{**SUBJECT, "identifiers": {**EVA, "bsn": "111222334"}}]),
     "/subjects/0/identifiers/bsn"),
    ("unknown identifier field",
     exchange_body(subjects=[{**SUBJECT, "identifiers": {**EVA, "shoe_size": "42"}}]),
     "/subjects/0/identifiers/shoe_size"),
    ("unknown subject field", exchange_body(subjects=[{**SUBJECT, "age": 27}]),
     "/subjects/0/age"),
    ("content not an object", exchange_body(items=[{"category": "uitbuitingssignalen",
                                                    "subject_ref": "p1", "content": "tekst"}]),
     "/items/0/content"),
    ("content too large",
     exchange_body(items=[item("uitbuitingssignalen", note="x" * MAX_ITEM_CONTENT_BYTES)]),
     "/items/0/content"),
    ("case that does not exist", exchange_body(case_id="c-1"), "/case_id"),
    ("subjects not a list", exchange_body(subjects={"p1": SUBJECT}), "/subjects"),
]


def _nothing_stored(session: Session) -> None:
    for model in (Exchange, Delivery, Subject):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def _only_the_rejection_audited(session: Session, problem: str) -> None:
    [audit] = session.scalars(select(AuditEntry)).all()
    entry = json.loads(audit.entry)
    assert (entry["action"], entry["problem"]) == ("exchange.rejected", problem)


@pytest.mark.parametrize(("body", "pointer"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_exchange_names_the_field_and_stores_only_the_refusal(
    gateway_app: Flask, http: FlaskClient, session: Session, body: dict[str, Any], pointer: str
) -> None:
    response = http.post("/v1/exchanges", json=body, headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    _nothing_stored(session)
    [audit] = session.scalars(select(AuditEntry)).all()
    assert json.loads(audit.entry)["action"] == "exchange.rejected"
    assert "111222" not in audit.entry


def test_every_fault_is_reported_at_once(gateway_app: Flask, http: FlaskClient) -> None:
    body = exchange_body(process_step="opsporing", recipients=["nobody"],
                         items=[item("horoscoop")])

    response = http.post("/v1/exchanges", json=body, headers=bearer(gateway_app, VLAARDINGEN))

    pointers = {e["pointer"] for e in response.json["errors"]}
    assert {"/process_step", "/recipients/0", "/items/0/category"} <= pointers


def test_wrong_content_type_is_415(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    response = http.post("/v1/exchanges", data=json.dumps(exchange_body()),
                         content_type="text/plain", headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    _nothing_stored(session)
    _only_the_rejection_audited(session, "unsupported-media-type")


@pytest.mark.parametrize("raw", ["{", "[1, 2]", "\"text\"", "\xff"])
def test_malformed_json_is_400(
    gateway_app: Flask, http: FlaskClient, session: Session, raw: str
) -> None:
    response = http.post("/v1/exchanges", data=raw.encode("latin-1"),
                         content_type="application/json",
                         headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 400
    assert response.json["type"].endswith("/malformed-json")
    _nothing_stored(session)
    _only_the_rejection_audited(session, "malformed-json")


def test_oversize_body_is_413(gateway_app: Flask, http: FlaskClient, session: Session) -> None:
    limit = gateway_app.config["MAX_CONTENT_LENGTH"]
    body = exchange_body(items=[item("uitbuitingssignalen", note="x" * 60_000)] * 20)
    raw = json.dumps(body)
    assert len(raw) > limit

    response = http.post("/v1/exchanges", data=raw, content_type="application/json",
                         headers=bearer(gateway_app, VLAARDINGEN))

    assert response.status_code == 413
    assert str(limit) in response.json["detail"]
    _nothing_stored(session)
    _only_the_rejection_audited(session, "body-too-large")
