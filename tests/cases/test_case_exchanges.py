"""An exchange that names a case takes the case's step, and reaches the assigned partner as such."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.exchange.models import Exchange
from tests.cases.factories import create_case, put_case_at, token
from tests.factories import POLITIE, RIEC, VLAARDINGEN, exchange_body, item

OM = "om-rotterdam"
WRITE = ("exchange:write",)


def _send(app: Flask, http: FlaskClient, sender: str, **overrides: Any) -> Any:
    body = exchange_body(**overrides)
    return http.post("/v1/exchanges", json=body, headers=token(app, sender, WRITE))


def test_an_exchange_naming_a_case_takes_its_step(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "dossiervorming")
    body = exchange_body(case_id=case["id"])
    del body["process_step"]

    response = http.post("/v1/exchanges", json=body,
                         headers=token(gateway_app, VLAARDINGEN, WRITE))

    assert response.status_code == 201, response.json
    with transaction(gateway_app.extensions["ketenpoort"].session_factory) as session:
        stored = session.scalars(select(Exchange).where(Exchange.id == response.json["id"])).one()
    assert (stored.case_id, stored.process_step) == (case["id"], "dossiervorming")
    # At dossiervorming the covenant gives the RIEC identities (signalen-dossier).
    assert response.json["decisions"][0]["identity"] == "identified"


def test_the_same_step_may_be_stated(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)

    response = _send(gateway_app, http, VLAARDINGEN, case_id=case["id"],
                     process_step="detectie")

    assert response.status_code == 201, response.json


def test_a_sender_cannot_claim_another_step_of_the_case(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)

    response = _send(gateway_app, http, VLAARDINGEN, case_id=case["id"],
                     process_step="dossiervorming")

    assert response.status_code == 409
    assert response.json["type"].endswith("/case-step-mismatch")
    assert "detectie" in response.json["detail"]


def test_nothing_is_exchanged_about_a_closed_case(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "gesloten")
    body = exchange_body(case_id=case["id"])
    del body["process_step"]

    response = http.post("/v1/exchanges", json=body,
                         headers=token(gateway_app, VLAARDINGEN, WRITE))

    assert response.status_code == 409
    assert response.json["type"].endswith("/case-closed")


@pytest.mark.parametrize(
    ("case_id", "detail"),
    [("0b7e7e4a-2d0c-4c1e-9a55-3e1f9d7a0c11", "no case with this id"), ("C-1", "a case id"),
     (7, "a case id")],
)
def test_an_unknown_or_malformed_case_is_a_422(
    gateway_app: Flask, http: FlaskClient, case_id: object, detail: str
) -> None:
    response = _send(gateway_app, http, VLAARDINGEN, case_id=case_id)

    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/case_id"
    assert detail in response.json["errors"][0]["detail"]


def test_a_case_one_is_not_involved_in_answers_like_an_absent_one(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """Probing: neither the case's covenant, step nor existence leaks, and nothing attaches."""
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "weging_kwalificatie")
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        stored_before = session.query(Exchange).count()

    foreign = _send(gateway_app, http, POLITIE, case_id=case["id"])
    absent = _send(gateway_app, http, POLITIE, case_id="0b7e7e4a-2d0c-4c1e-9a55-3e1f9d7a0c11")
    closed_probe = _send(gateway_app, http, POLITIE, case_id=case["id"],
                         covenant="zvh-rijnmond-zorg")

    assert foreign.status_code == absent.status_code == 422
    assert foreign.json["errors"] == absent.json["errors"]
    assert {e["pointer"] for e in closed_probe.json["errors"]} >= {"/case_id"}
    assert "weging" not in str(foreign.json) + str(closed_probe.json)
    with transaction(container.session_factory) as session:
        assert session.query(Exchange).count() == stored_before
    involved = _send(gateway_app, http, VLAARDINGEN, case_id=case["id"],
                     process_step="weging_kwalificatie")
    assert involved.status_code == 201, involved.json


def test_without_a_case_the_step_stays_required(gateway_app: Flask, http: FlaskClient) -> None:
    body = exchange_body()
    del body["process_step"]

    response = http.post("/v1/exchanges", json=body,
                         headers=token(gateway_app, VLAARDINGEN, WRITE))

    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/process_step"


@pytest.mark.parametrize("step", ["toewijzing_interventie", "uitvoering"])
def test_the_assigned_partner_receives_what_requires_assignment(
    gateway_app: Flask, http: FlaskClient, step: str
) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], step, assigned=POLITIE, state="offered")
    body = exchange_body(case_id=case["id"], recipients=[POLITIE, OM],
                         items=[item("interventie", aanpak="huisbezoek"), item("identiteit")])
    del body["process_step"]

    response = http.post("/v1/exchanges", json=body, headers=token(gateway_app, RIEC, WRITE))

    assert response.status_code == 201, response.json
    by_recipient = {d["recipient"]: d for d in response.json["decisions"]}
    assigned, other = by_recipient[POLITIE], by_recipient[OM]
    assert assigned["categories_delivered"] == ["identiteit", "interventie"]
    assert assigned["identity"] == "identified"
    assert assigned["grants"]["interventie"] == ["riec-interventie-toegewezen"]
    assert other["allowed"] is False
    assert {r["code"] for r in other["reasons"]} == {"recipient-not-assigned"}


def test_a_declined_partner_is_no_longer_the_assigned_partner(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "toewijzing_interventie", assigned=POLITIE,
                state="declined")
    body = exchange_body(case_id=case["id"], recipients=[POLITIE],
                         items=[item("interventie", aanpak="huisbezoek")])
    del body["process_step"]

    response = http.post("/v1/exchanges", json=body, headers=token(gateway_app, RIEC, WRITE))

    assert response.status_code == 403
    assert response.json["decisions"][0]["reasons"][0]["code"] == "recipient-not-assigned"
