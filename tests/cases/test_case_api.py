"""Creating and reading cases: only the regie creates, persons only by its own pseudonyms."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from audit.models import AuditEntry
from gateway.cases.models import Case
from gateway.db import transaction
from tests.cases.factories import (
    CASE_READ,
    CASE_WRITE,
    case_body,
    create_case,
    riec_pseudonyms,
    send_signal,
)
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN, bearer

ANNA = {"family_name": "Bakker", "given_names": "Anna", "birth_date": "1990-01-01"}


def _case_count(app: Flask) -> int:
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def _audit_actions(app: Flask) -> list[str]:
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        entries = session.scalars(select(AuditEntry.entry)).all()
    return [json.loads(entry)["action"] for entry in entries]


def test_the_riec_creates_a_case_from_its_signals(gateway_app: Flask, http: FlaskClient) -> None:
    signal = send_signal(gateway_app, http)
    pseudonyms = riec_pseudonyms(gateway_app, signal)

    response = http.post("/v1/cases", json=case_body([signal], pseudonyms),
                         headers=bearer(gateway_app, RIEC, CASE_WRITE))

    assert response.status_code == 201, response.json
    case = response.json
    assert response.headers["Location"] == f"/v1/cases/{case['id']}"
    assert case["step"] == "detectie"
    assert case["case_manager"] == VLAARDINGEN
    assert case["signals"] == [signal]
    assert case["subjects"] == [
        {"alias": "Persoon A", "role": "slachtoffer", "pseudonym": pseudonyms[0]},
        {"alias": "Persoon B", "role": "dader", "pseudonym": pseudonyms[1]},
    ]
    assert "case.created" in _audit_actions(gateway_app)


def test_the_stored_case_and_its_audit_entry_hold_no_identifiers(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)

    created = [a for a in _audit_actions(gateway_app) if a == "case.created"]
    with transaction(gateway_app.extensions["ketenpoort"].session_factory) as session:
        entries = " ".join(session.scalars(select(AuditEntry.entry)).all())
    assert created
    for plaintext in ("111222333", "Jansen", "Vries", "1999-04-02"):
        assert plaintext not in json.dumps(case)
        assert plaintext not in entries


@pytest.mark.parametrize("partner", [VLAARDINGEN, POLITIE])
def test_only_the_regie_party_creates_cases(
    gateway_app: Flask, http: FlaskClient, partner: str
) -> None:
    signal = send_signal(gateway_app, http)
    body = case_body([signal], riec_pseudonyms(gateway_app, signal))

    response = http.post("/v1/cases", json=body, headers=bearer(gateway_app, partner, CASE_WRITE))

    assert response.status_code == 403
    assert response.json["type"].endswith("/not-regie")
    assert _case_count(gateway_app) == 0


def test_a_person_is_named_only_by_a_pseudonym_from_the_linked_signals(
    gateway_app: Flask, http: FlaskClient
) -> None:
    signal = send_signal(gateway_app, http)
    other = send_signal(gateway_app, http, sender=POLITIE, identifiers=(ANNA,))
    unrelated = riec_pseudonyms(gateway_app, other)[0]

    response = http.post("/v1/cases", json=case_body([signal], [unrelated]),
                         headers=bearer(gateway_app, RIEC, CASE_WRITE))

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == ["/subjects/0/pseudonym"]
    assert _case_count(gateway_app) == 0


def test_a_signal_must_have_reached_the_riec(gateway_app: Flask, http: FlaskClient) -> None:
    signal = send_signal(gateway_app, http)
    pseudonyms = riec_pseudonyms(gateway_app, signal)
    stranger = "0b7e7e4a-2d0c-4c1e-9a55-3e1f9d7a0c11"

    response = http.post("/v1/cases", json=case_body([signal, stranger], pseudonyms),
                         headers=bearer(gateway_app, RIEC, CASE_WRITE))

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == ["/signals/1"]


@pytest.mark.parametrize(
    ("overrides", "pointers"),
    [
        ({"case_manager": POLITIE}, ["/case_manager"]),
        ({"covenant": "geen-convenant"}, ["/covenant"]),
        ({"signals": []}, ["/signals"]),
        ({"signals": ["not-a-uuid"]}, ["/signals/0"]),
        ({"subjects": [{"pseudonym": "x", "role": "koning"}]}, ["/subjects/0/role"]),
        ({"subjects": [{"pseudonym": "x", "role": "dader", "bsn": "111222333"}]},
         ["/subjects/0/bsn"]),
        ({"extra": 1}, ["/extra"]),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    gateway_app: Flask, http: FlaskClient, overrides: dict[str, object], pointers: list[str]
) -> None:
    signal = send_signal(gateway_app, http)
    body = {**case_body([signal], riec_pseudonyms(gateway_app, signal)), **overrides}

    response = http.post("/v1/cases", json=body, headers=bearer(gateway_app, RIEC, CASE_WRITE))

    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert [e["pointer"] for e in response.json["errors"]] == pointers
    assert _case_count(gateway_app) == 0


def test_a_missing_field_is_named(gateway_app: Flask, http: FlaskClient) -> None:
    response = http.post("/v1/cases", json={"covenant": "riec-rr-mensenhandel"},
                         headers=bearer(gateway_app, RIEC, CASE_WRITE))

    assert response.status_code == 422
    assert {e["pointer"] for e in response.json["errors"]} == {
        "/signals", "/subjects", "/case_manager"}


def test_involved_partners_read_the_case_others_do_not_learn_it_exists(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)
    path = f"/v1/cases/{case['id']}"

    as_manager = http.get(path, headers=bearer(gateway_app, VLAARDINGEN, CASE_READ))
    as_stranger = http.get(path, headers=bearer(gateway_app, GGD, CASE_READ))
    no_such = http.get("/v1/cases/0b7e7e4a-2d0c-4c1e-9a55-3e1f9d7a0c11",
                       headers=bearer(gateway_app, GGD, CASE_READ))

    assert as_manager.status_code == 200
    assert as_manager.json["your_roles"] == ["case_manager"]
    # Only the regie sees its own pseudonyms and the signals; the others see aliases.
    assert as_manager.json["subjects"] == [{"alias": "Persoon A", "role": "slachtoffer"},
                                           {"alias": "Persoon B", "role": "dader"}]
    assert "signals" not in as_manager.json
    assert as_stranger.status_code == 404
    assert as_stranger.json == {**no_such.json, "instance": as_stranger.json["instance"],
                                "detail": as_stranger.json["detail"]}
    assert "case.read" in _audit_actions(gateway_app)
