"""POST /v1/reidentifications and the four-eyes flow: identities only where the policy allows."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Connection

from audit.models import AuditEntry
from gateway.app import create_app
from gateway.auth.services import ClientService
from gateway.clock import ManualClock, parse_moment
from gateway.db import transaction
from gateway.delivery.models import Delivery
from gateway.exchange.interfaces import PROCESS_STEPS
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.conftest import TEST_TODAY
from tests.factories import COVENANT, EVA, PIETER, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body

REIDENTIFY = ("reidentify",)
REASON = "dossiervorming vraagt de identiteit voor het casusoverleg"


def _born(day: date) -> dict[str, str]:
    return {"family_name": "Bakker", "given_names": "Sem", "birth_date": day.isoformat()}


def _midsummer_ahead() -> date:
    """The first 15 June on or after the suite's day: birthdays around it fall in one year."""
    this_year = date(TEST_TODAY.year, 6, 15)
    return this_year if this_year >= TEST_TODAY else date(TEST_TODAY.year + 1, 6, 15)


MINOR = _born(TEST_TODAY - timedelta(days=10 * 365))


def _send(app: Flask, http: FlaskClient, *, step: str, role: str,
          identifiers: dict[str, str]) -> None:
    body = exchange_body(process_step=step, subjects=[
        {"ref": "p1", "role": role, "identifiers": dict(identifiers)}])
    response = http.post("/v1/exchanges", json=body, headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json


def _pseudonym_at(app: Flask, recipient: str) -> str:
    """The pseudonym in the newest delivery to ``recipient``."""
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.recipient == recipient)
                                   .order_by(Delivery.seq.desc())).first()
        assert delivery is not None
        pseudonym: str = delivery.payload["subjects"][0]["pseudonym"]
    return pseudonym


def _delivered(app: Flask, http: FlaskClient, *, step: str = "dossiervorming",
               role: str = "dader", identifiers: dict[str, str] | None = None) -> str:
    _send(app, http, step=step, role=role, identifiers=identifiers or PIETER)
    return _pseudonym_at(app, RIEC)


def _ask(app: Flask, http: FlaskClient, pseudonym: str, headers: dict[str, str] | None = None,
         **extra: Any) -> Any:
    return http.post("/v1/reidentifications", json={"pseudonym": pseudonym, "reason": REASON,
                                                    **extra},
                     headers=headers or bearer(app, RIEC, REIDENTIFY))


def _audit_entries(app: Flask) -> list[dict[str, Any]]:
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        entries = session.scalars(select(AuditEntry.entry).order_by(AuditEntry.id)).all()
    return [json.loads(entry) for entry in entries]


def _actions(app: Flask) -> list[str]:
    return [str(e["action"]) for e in _audit_entries(app)
            if str(e["action"]).startswith("reidentification.")]


def test_an_identified_grant_releases_the_identity(gateway_app: Flask,
                                                   http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http)
    response = _ask(gateway_app, http, pseudonym)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "released"
    assert response.json["identity"] == PIETER
    assert _actions(gateway_app) == ["reidentification.requested", "reidentification.released"]


@pytest.mark.parametrize("step", PROCESS_STEPS)
def test_released_exactly_where_the_delivery_was_identified(
    gateway_app: Flask, http: FlaskClient, step: str
) -> None:
    body = exchange_body(process_step=step, subjects=[
        {"ref": "p1", "role": "dader", "identifiers": dict(PIETER)}])
    sent = http.post("/v1/exchanges", json=body, headers=bearer(gateway_app, VLAARDINGEN))
    if sent.status_code == 403:
        pytest.skip(f"nothing reaches the RIEC at {step}")
    identity = sent.json["decisions"][0]["identity"]
    response = _ask(gateway_app, http, _pseudonym_at(gateway_app, RIEC))
    assert response.status_code == (200 if identity == "identified" else 403), response.json


def test_a_pseudonymous_grant_refuses_with_reasons(gateway_app: Flask,
                                                   http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http, step="detectie")
    response = _ask(gateway_app, http, pseudonym)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert [r["code"] for r in response.json["reasons"]] == ["no-identified-grant"]
    assert "identity" not in response.json
    assert _actions(gateway_app) == ["reidentification.requested", "reidentification.refused"]


def test_a_pseudonym_delivered_to_another_partner_is_refused(gateway_app: Flask,
                                                             http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http)
    response = _ask(gateway_app, http, pseudonym, headers=bearer(gateway_app, POLITIE,
                                                                  REIDENTIFY))
    assert response.status_code == 403
    assert [r["code"] for r in response.json["reasons"]] == ["not-delivered"]


def test_a_case_id_narrows_the_deliveries_that_count(gateway_app: Flask,
                                                     http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http)
    response = _ask(gateway_app, http, pseudonym, case_id="00000000-0000-0000-0000-000000000000")
    assert response.status_code == 403
    assert [r["code"] for r in response.json["reasons"]] == ["not-delivered"]


@pytest.mark.parametrize(("headers", "status"), [
    (None, 401),
    ({"Authorization": "Bearer not-a-token"}, 401),
    ("inbox-only", 403),
])
def test_who_gets_in(gateway_app: Flask, http: FlaskClient, headers: Any, status: int) -> None:
    if headers == "inbox-only":
        headers = bearer(gateway_app, RIEC, ("inbox:read",))
    for path, method in (("/v1/reidentifications", http.post),
                         ("/v1/reidentifications/x", http.get),
                         ("/v1/reidentifications/x/approve", http.post)):
        response = method(path, json={}, headers=headers or {})
        assert response.status_code == status, (path, response.json)
    assert _actions(gateway_app) == []


@pytest.mark.parametrize(("body", "pointer"), [
    ({"pseudonym": "PSN1-X", "reason": "kort"}, "/reason"),
    ({"pseudonym": "PSN1-X"}, "/reason"),
    ({"reason": REASON}, "/pseudonym"),
    ({"pseudonym": 7, "reason": REASON}, "/pseudonym"),
    ({"pseudonym": "PSN1-X", "reason": REASON, "case_id": 3}, "/case_id"),
    ({"pseudonym": "PSN1-X", "reason": REASON, "extra": 1}, "/extra"),
    ({"pseudonym": "PSN1-X", "reason": f"{REASON} bsn {EVA['bsn']}"}, "/reason"),
])
def test_bad_input_names_the_field_and_changes_nothing(
    gateway_app: Flask, http: FlaskClient, body: Any, pointer: str
) -> None:
    response = http.post("/v1/reidentifications", json=body,
                         headers=bearer(gateway_app, RIEC, REIDENTIFY))
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert _actions(gateway_app) == []


def test_a_body_that_is_no_object_is_a_bad_request(gateway_app: Flask,
                                                   http: FlaskClient) -> None:
    headers = bearer(gateway_app, RIEC, REIDENTIFY)
    assert http.post("/v1/reidentifications", json=[], headers=headers).status_code == 400


def test_a_victim_needs_a_second_person(gateway_app: Flask, http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http, role="slachtoffer", identifiers=EVA)
    requester = bearer(gateway_app, RIEC, REIDENTIFY)
    pending = _ask(gateway_app, http, pseudonym, headers=requester)
    assert pending.status_code == 202, pending.json
    assert pending.json["status"] == "pending"
    assert "identity" not in pending.json
    location = pending.headers["Location"]

    assert http.get(location, headers=requester).json["status"] == "pending"
    refused = http.post(f"{location}/approve", headers=requester)
    assert refused.status_code == 403
    assert refused.json["type"].endswith("/self-approval")
    outsider = http.post(f"{location}/approve", headers=bearer(gateway_app, POLITIE, REIDENTIFY))
    assert outsider.status_code == 404

    colleague = bearer(gateway_app, RIEC, REIDENTIFY)
    approved = http.post(f"{location}/approve", headers=colleague)
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"
    assert http.post(f"{location}/approve", headers=colleague).status_code == 409
    assert "identity" not in http.get(location, headers=colleague).json

    released = http.get(location, headers=requester)
    assert released.json["status"] == "released"
    assert released.json["identity"] == EVA
    again = http.get(location, headers=requester)
    assert again.json["status"] == "released"
    assert "identity" not in again.json
    assert _actions(gateway_app) == [
        "reidentification.requested", "reidentification.approved", "reidentification.released"
    ]


def test_an_approved_release_is_decided_again_when_the_identity_is_fetched(
    gateway_app: Flask, http: FlaskClient, clock: ManualClock
) -> None:
    """The approval is not the permission: a covenant that lapsed since then refuses the release."""
    pseudonym = _delivered(gateway_app, http, role="slachtoffer", identifiers=EVA)
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        client, _secret = ClientService().create(session, RIEC, list(REIDENTIFY),
                                                 container.bundle.partner_ids())

    def requester() -> dict[str, str]:
        return {"Authorization": f"Bearer {container.tokens.issue(client)['access_token']}"}

    location = _ask(gateway_app, http, pseudonym, headers=requester()).headers["Location"]
    approved = http.post(f"{location}/approve", headers=bearer(gateway_app, RIEC, REIDENTIFY))
    assert approved.json["status"] == "approved"
    covenant = container.bundle.data["ketenpoort"]["covenants"][COVENANT]
    clock.set(parse_moment(str(date.fromisoformat(covenant["valid_until"]) + timedelta(days=1))))

    lapsed = http.get(location, headers=requester())
    assert lapsed.json["status"] == "refused"
    assert "identity" not in lapsed.json
    assert "covenant-not-valid" in {reason["code"] for reason in lapsed.json["reasons"]}


def test_a_minor_needs_a_second_person(gateway_app: Flask, http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http, role="dader", identifiers=MINOR)
    assert _ask(gateway_app, http, pseudonym).status_code == 202


@pytest.mark.parametrize(
    ("born", "status"),
    [
        pytest.param(date(2000, 6, 16), 202, id="turns-18-tomorrow"),
        pytest.param(date(2001, 6, 15), 202, id="turned-17-today"),
        pytest.param(date(2000, 6, 15), 200, id="turns-18-today"),
        pytest.param(date(2000, 6, 14), 200, id="turned-18-yesterday"),
    ],
)
def test_the_age_of_majority_counts_to_the_day(
    gateway_app: Flask, http: FlaskClient, clock: ManualClock, born: date, status: int
) -> None:
    """Four eyes until the 18th birthday itself. Written for 15 June 2018; the clock and the
    birth dates move together to the suite's year."""
    today = _midsummer_ahead()
    clock.set(parse_moment(today.isoformat()))
    shift = today.year - 2018
    identifiers = _born(born.replace(year=born.year + shift))
    pseudonym = _delivered(gateway_app, http, role="dader", identifiers=identifiers)
    assert _ask(gateway_app, http, pseudonym).status_code == status


def test_the_audit_names_persons_by_audit_pseudonym_only(gateway_app: Flask,
                                                         http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http, role="slachtoffer", identifiers=EVA)
    requester = bearer(gateway_app, RIEC, REIDENTIFY)
    location = _ask(gateway_app, http, pseudonym, headers=requester).headers["Location"]
    http.post(f"{location}/approve", headers=bearer(gateway_app, RIEC, REIDENTIFY))
    http.get(location, headers=requester)
    entries = [e for e in _audit_entries(gateway_app)
               if str(e["action"]).startswith("reidentification.")]
    assert len(entries) == 3
    assert all(str(e["subject"]).startswith("AUD") for e in entries)
    dumped = json.dumps(entries)
    for value in (*EVA.values(), REASON):
        assert value not in dumped


@pytest.fixture
def limited_app(tmp_path: Path, connection: Connection, keyring: Keyring) -> Flask:
    settings = Settings(instance_path=tmp_path / "instance", reidentification_limit=2,
                        reidentification_period_seconds=3600)
    return create_app(settings, bind=connection, keyring=keyring)


def test_the_limit_per_partner_answers_429_with_retry_after(limited_app: Flask) -> None:
    http = limited_app.test_client()
    pseudonym = _delivered(limited_app, http)
    assert _ask(limited_app, http, pseudonym).status_code == 200
    assert _ask(limited_app, http, "PSN1-ONBEKEND").status_code == 403  # refusals count too
    limited = _ask(limited_app, http, pseudonym, headers=bearer(limited_app, RIEC, REIDENTIFY))
    assert limited.status_code == 429
    assert 3500 < int(limited.headers["Retry-After"]) <= 3600
    assert _actions(limited_app)[-1] == "reidentification.refused"
    other_partner = _ask(limited_app, http, pseudonym,
                         headers=bearer(limited_app, POLITIE, REIDENTIFY))
    assert other_partner.status_code == 403


def test_a_second_person_may_deny_and_the_identity_is_never_released(
        gateway_app: Flask, http: FlaskClient) -> None:
    pseudonym = _delivered(gateway_app, http, role="slachtoffer", identifiers=EVA)
    requester = bearer(gateway_app, RIEC, REIDENTIFY)
    location = _ask(gateway_app, http, pseudonym, headers=requester).headers["Location"]

    assert http.post(f"{location}/deny", headers=requester).status_code == 403  # not oneself
    assert http.post(f"{location}/deny", headers=bearer(gateway_app, POLITIE, REIDENTIFY)
                     ).status_code == 404
    denied = http.post(f"{location}/deny", headers=bearer(gateway_app, RIEC, REIDENTIFY))

    assert denied.status_code == 200, denied.json
    assert denied.json["status"] == "refused"
    assert http.post(f"{location}/approve", headers=bearer(gateway_app, RIEC, REIDENTIFY)
                     ).status_code == 409
    fetched = http.get(location, headers=requester).json
    assert fetched["status"] == "refused"
    assert "identity" not in fetched
    assert "reidentification.denied" in _actions(gateway_app)
