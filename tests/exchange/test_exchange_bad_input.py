"""Bad input gets a clear problem+json naming the field, and changes nothing but the audit."""

from __future__ import annotations

import io
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


def _post_raw(gateway_app: Flask, http: FlaskClient, raw: bytes,
              content_type: str = "application/json") -> Any:
    return http.post("/v1/exchanges", data=raw, content_type=content_type,
                     headers=bearer(gateway_app, VLAARDINGEN))


def _audited_fields(session: Session) -> list[str]:
    [audit] = session.scalars(select(AuditEntry)).all()
    fields: list[str] = json.loads(audit.entry)["fields"]
    return fields


def _with_note(literal: str) -> bytes:
    """The contract's exchange with ``literal`` (raw JSON text) as its item's note."""
    marker = "\u2603marker\u2603"
    raw = json.dumps(exchange_body(items=[item("uitbuitingssignalen", note=marker)]))
    return raw.replace(json.dumps(marker), literal).encode()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999",
                                     "12345678901234567890", '"\\ud800"', "[" * 40 + "]" * 40])
def test_content_outside_i_json_is_400_at_its_pointer_and_audited(
    gateway_app: Flask, http: FlaskClient, session: Session, literal: str
) -> None:
    response = _post_raw(gateway_app, http, _with_note(literal))

    assert response.status_code == 400, response.json
    assert response.mimetype == "application/problem+json"
    assert {e["pointer"] for e in response.json["errors"]} <= {
        "/items/0/content/note" + "/0" * n for n in range(40)}
    _nothing_stored(session)
    _only_the_rejection_audited(session, "malformed-json")
    assert _audited_fields(session) == ["/items/0/content/*"]


def test_a_duplicate_bsn_is_refused_not_resolved_last_wins(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    raw = json.dumps(exchange_body()).replace(
        '"bsn": "111222333"', '"bsn": "111222333", "bsn": "123456782"').encode()
    assert raw.count(b'"bsn"') == 2

    response = _post_raw(gateway_app, http, raw)

    assert response.status_code == 400
    assert [e["pointer"] for e in response.json["errors"]] == ["/subjects/0/identifiers/bsn"]
    _nothing_stored(session)
    assert _audited_fields(session) == ["/subjects/0/identifiers/bsn"]
    assert "123456782" not in session.scalars(select(AuditEntry.entry)).one()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_body_not_in_utf8_is_400(
    gateway_app: Flask, http: FlaskClient, session: Session, encoding: str
) -> None:
    response = _post_raw(gateway_app, http, json.dumps(exchange_body()).encode(encoding))

    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == ""
    _nothing_stored(session)
    _only_the_rejection_audited(session, "malformed-json")


@pytest.mark.parametrize("charset", ["utf-16", "latin-1"])
def test_a_charset_other_than_utf8_is_415(
    gateway_app: Flask, http: FlaskClient, session: Session, charset: str
) -> None:
    response = _post_raw(gateway_app, http, json.dumps(exchange_body()).encode(),
                         content_type=f"application/json; charset={charset}")

    assert response.status_code == 415
    _nothing_stored(session)
    _only_the_rejection_audited(session, "unsupported-media-type")


def test_utf8_declared_as_charset_is_accepted(gateway_app: Flask, http: FlaskClient) -> None:
    response = _post_raw(gateway_app, http, json.dumps(exchange_body()).encode(),
                         content_type="application/json; charset=UTF-8")

    assert response.status_code == 201, response.json


# Every JSON type in place of each field the request defines: each answer names the field.
WRONG_TYPES: list[Any] = [{"k": "v"}, ["v"], 7, 1.5, True, None, ""]
FIELDS_BY_POINTER: dict[str, Any] = {
    "/covenant": lambda v: exchange_body(covenant=v),
    "/recipients": lambda v: exchange_body(recipients=v),
    "/subjects": lambda v: exchange_body(subjects=v),
    "/items": lambda v: exchange_body(items=v),
    "/purpose": lambda v: exchange_body(purpose=v),
    "/process_step": lambda v: exchange_body(process_step=v),
    "/recipients/0": lambda v: exchange_body(recipients=[v]),
    "/case_id": lambda v: exchange_body(case_id=v),
    "/subjects/0/ref": lambda v: exchange_body(subjects=[{**SUBJECT, "ref": v}]),
    "/subjects/0/role": lambda v: exchange_body(subjects=[{**SUBJECT, "role": v}]),
    "/subjects/0/identifiers": lambda v: exchange_body(subjects=[{**SUBJECT, "identifiers": v}]),
    "/subjects/0/identifiers/bsn": lambda v: exchange_body(
        subjects=[{**SUBJECT, "identifiers": {**EVA, "bsn": v}}]),
    "/items/0/category": lambda v: exchange_body(items=[{**item("uitbuitingssignalen"),
                                                         "category": v}]),
    "/items/0/subject_ref": lambda v: exchange_body(items=[{**item("uitbuitingssignalen"),
                                                            "subject_ref": v}]),
    "/items/0/content": lambda v: exchange_body(items=[{**item("uitbuitingssignalen"),
                                                        "content": v}]),
}
# Fields that may legitimately be null.
NULLABLE = {"/case_id", "/items/0/subject_ref"}


@pytest.mark.parametrize("pointer", list(FIELDS_BY_POINTER))
def test_any_json_type_in_any_field_is_a_4xx_naming_the_field(
    gateway_app: Flask, http: FlaskClient, session: Session, pointer: str
) -> None:
    headers = bearer(gateway_app, VLAARDINGEN)
    for value in WRONG_TYPES:
        if (value is None and pointer in NULLABLE) or (
                pointer == "/items/0/content" and isinstance(value, dict)):
            continue
        response = http.post("/v1/exchanges", json=FIELDS_BY_POINTER[pointer](value),
                             headers=headers)

        assert response.status_code in {400, 422}, (value, response.json)
        field = pointer if pointer.count("/") == 1 else pointer.rsplit("/", 1)[0]
        assert any(e["pointer"].startswith(field)
                   for e in response.json["errors"]), (value, response.json)
    _nothing_stored(session)


def test_a_chunked_body_over_the_limit_is_413_not_cut(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    limit = gateway_app.config["MAX_CONTENT_LENGTH"]
    # Valid JSON up to the limit and beyond it: cut at the limit it would still parse.
    raw = json.dumps(exchange_body()).encode() + b" " * (2 * limit)

    response = http.post(
        "/v1/exchanges", input_stream=io.BytesIO(raw), content_type="application/json",
        headers={**bearer(gateway_app, VLAARDINGEN), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})

    assert response.status_code == 413, response.json
    _nothing_stored(session)
    _only_the_rejection_audited(session, "body-too-large")


def test_a_chunked_body_of_exactly_the_limit_is_read_whole(
    gateway_app: Flask, http: FlaskClient
) -> None:
    limit = gateway_app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps(exchange_body()).encode()
    raw = body + b" " * (limit - len(body))

    response = http.post(
        "/v1/exchanges", input_stream=io.BytesIO(raw), content_type="application/json",
        headers={**bearer(gateway_app, VLAARDINGEN), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})

    assert response.status_code == 201, response.json
