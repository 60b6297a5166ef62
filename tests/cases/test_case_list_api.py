"""``GET /v1/cases``: the cases a partner directs or takes part in, and no other."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.models import AuditEntry
from gateway.db import transaction
from tests.cases.factories import CASE_READ, CASE_WRITE, create_case, put_case_at, token
from tests.factories import POLITIE, RIEC, VLAARDINGEN


def _listed(app: Flask, http: FlaskClient, partner: str) -> list[str]:
    response = http.get("/v1/cases", headers=token(app, partner, CASE_READ))
    assert response.status_code == 200, response.json
    return [case["id"] for case in response.json["items"]]


def test_each_partner_lists_the_cases_it_is_involved_in(gateway_app: Flask,
                                                        http: FlaskClient) -> None:
    first, second = create_case(gateway_app, http), create_case(gateway_app, http)
    put_case_at(gateway_app, second["id"], "uitvoering", assigned=POLITIE)

    assert sorted(_listed(gateway_app, http, RIEC)) == sorted([first["id"], second["id"]])
    assert sorted(_listed(gateway_app, http, VLAARDINGEN)) == sorted([first["id"], second["id"]])
    assert _listed(gateway_app, http, POLITIE) == [second["id"]]


def test_a_declined_intervention_ends_the_listing(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "toewijzing_interventie", assigned=POLITIE,
                state="declined")

    assert _listed(gateway_app, http, POLITIE) == []


def test_listing_needs_case_read_and_is_audited(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)

    refused = http.get("/v1/cases", headers=token(gateway_app, VLAARDINGEN, CASE_WRITE))
    _listed(gateway_app, http, VLAARDINGEN)

    assert refused.status_code == 403
    with transaction(gateway_app.extensions["ketenpoort"].session_factory) as session:
        entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    [listed] = [e for e in entries if e["action"] == "case.listed"]
    assert listed["actor"]["partner"] == VLAARDINGEN
    assert listed["case_ids"] == [case["id"]]
