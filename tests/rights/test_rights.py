"""Rectification (art. 16 with art. 19 notification), restriction (art. 18), objection (art. 21).

Before these workflows there was no endpoint at all (issue 14's "Why"): every test here failed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.models import AuditEntry
from gateway.db import transaction
from gateway.identity.models import Reidentification
from gateway.outbox.models import OutboxMessage
from tests.cases.factories import token
from tests.factories import (
    EVA,
    OUTSIDER,
    PIETER,
    POLITIE,
    RIEC,
    VLAARDINGEN,
    bearer,
    item,
)
from tests.rights.factories import (
    EVA_BY_NAME,
    INBOX,
    OFFICER,
    inbox,
    notices,
    person,
    send,
)


def entries(app: Flask, action: str) -> list[dict[str, Any]]:
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        found = [json.loads(t) for t in session.scalars(
            select(AuditEntry.entry).order_by(AuditEntry.id))]
    return [e for e in found if e["action"] == action]


# --- restriction ---------------------------------------------------------------------


def test_a_restricted_persons_data_are_withheld_and_the_decision_says_why(
    gateway_app: Flask, http: FlaskClient
) -> None:
    restricted = http.post("/v1/rights/restrictions", json={"identifiers": EVA},
                           headers=token(gateway_app, VLAARDINGEN, OFFICER))
    assert restricted.status_code == 201, restricted.json
    assert restricted.json["status"] == "active"

    # Sent under another subject key (name and birth date): still the same person.
    response = send(gateway_app, http, [person("p1", EVA_BY_NAME), person("p2", PIETER, "dader")],
                    [item("uitbuitingssignalen", "p1"), item("huisvesting", "p2")])

    assert response.status_code == 201, response.json
    [decision] = response.json["decisions"]
    assert "subject-restricted" in [r["code"] for r in decision["reasons"]]
    assert decision["subject_identities"]["p1"] == "none"
    [delivered] = inbox(gateway_app, http)
    assert [s["ref"] for s in delivered["subjects"]] == ["p2"]
    assert [i["category"] for i in delivered["items"]] == ["huisvesting"]
    [audited] = entries(gateway_app, "exchange.delivered")
    assert audited["subjects_restricted"] == 1
    assert len(audited["subjects"]) == 1
    assert "p1" not in json.dumps(audited["decisions"])


def test_an_exchange_about_only_a_restricted_person_is_refused_with_the_reason(
    gateway_app: Flask, http: FlaskClient
) -> None:
    http.post("/v1/rights/restrictions", json={"identifiers": EVA},
              headers=token(gateway_app, RIEC, OFFICER))
    response = send(gateway_app, http, [person("p1", EVA)])
    assert response.status_code == 403, response.json
    [decision] = response.json["decisions"]
    assert "subject-restricted" in [r["code"] for r in decision["reasons"]]
    assert inbox(gateway_app, http) == []


def test_lifting_takes_two_officers_of_the_partner_and_then_data_flow_again(
    gateway_app: Flask, http: FlaskClient
) -> None:
    first, second = bearer(gateway_app, VLAARDINGEN, OFFICER), bearer(
        gateway_app, VLAARDINGEN, OFFICER)
    restriction = http.post("/v1/rights/restrictions", json={"identifiers": EVA},
                            headers=first).json
    lift = f"/v1/rights/restrictions/{restriction['id']}/lift"

    asked = http.post(lift, headers=first)
    assert asked.status_code == 202, asked.json
    assert asked.json["status"] == "lift-pending"
    assert http.post(lift, headers=first).status_code == 409
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 403

    lifted = http.post(lift, headers=second)
    assert lifted.status_code == 200, lifted.json
    assert lifted.json["status"] == "lifted"
    assert http.post(lift, headers=second).status_code == 409
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 201
    actions = [e["action"] for e in entries(gateway_app, "rights.lift_requested")
               + entries(gateway_app, "rights.lifted")]
    assert actions == ["rights.lift_requested", "rights.lifted"]


# --- rectification -------------------------------------------------------------------


def test_a_rectification_corrects_the_sent_copy_and_notifies_the_recipient(
    gateway_app: Flask, http: FlaskClient
) -> None:
    sent = send(gateway_app, http, [person("p1", EVA)], step="dossiervorming")
    assert sent.status_code == 201, sent.json
    [before] = inbox(gateway_app, http)
    assert before["subjects"][0]["identity"] == "identified"

    response = http.post("/v1/rights/rectifications",
                         json={"identifiers": EVA, "corrections": {"family_name": "Janssen"}},
                         headers=token(gateway_app, VLAARDINGEN, OFFICER))

    assert response.status_code == 201, response.json
    assert response.json["notified"] == [RIEC]
    assert response.json["corrected_deliveries"] == 1
    [after] = inbox(gateway_app, http)
    assert after["subjects"][0]["identifiers"]["family_name"] == "Janssen"
    [notice] = notices(gateway_app, http)
    assert notice["type"] == "subject.rectified"
    assert notice["pseudonym"] == before["subjects"][0]["pseudonym"]
    assert notice["fields"] == ["family_name"]
    assert notice["identifiers"] == {"family_name": "Janssen"}
    [audited] = entries(gateway_app, "rights.rectified")
    assert audited["fields"] == ["family_name"]
    assert audited["vault_fields"] == ["family_name"]
    for value in (*EVA.values(), "Janssen"):
        assert value not in json.dumps(audited)
    vault = gateway_app.extensions["ketenpoort"].vault
    with transaction(gateway_app.extensions["ketenpoort"].session_factory) as session:
        assert vault.reveal(session, vault.subject_id_for(EVA))["family_name"] == "Janssen"


def test_a_pseudonymous_recipient_is_notified_without_the_clear_values(
    gateway_app: Flask, http: FlaskClient
) -> None:
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 201  # detectie
    http.post("/v1/rights/rectifications",
              json={"identifiers": EVA, "corrections": {"given_names": "Eva Maria"}},
              headers=token(gateway_app, VLAARDINGEN, OFFICER))
    [notice] = notices(gateway_app, http)
    assert notice["fields"] == ["given_names"]
    assert "identifiers" not in notice
    assert "Eva Maria" not in json.dumps(notice)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({"identifiers": EVA, "corrections": {"bsn": "123456782"}}, "/corrections/bsn"),
     ({"identifiers": EVA, "corrections": {}}, "/corrections"),
     ({"identifiers": EVA, "corrections": {"birth_date": "2999-01-01"}},
      "/corrections/birth_date"),
     ({"identifiers": EVA}, "/corrections"),
     ({"identifiers": {"given_names": "Eva"}, "corrections": {"family_name": "X"}},
      "/identifiers")],
    ids=["bsn", "empty", "future", "missing", "nobody"],
)
def test_bad_rectifications_are_422_with_pointers_and_change_nothing(
    gateway_app: Flask, http: FlaskClient, body: Any, pointer: str
) -> None:
    response = http.post("/v1/rights/rectifications", json=body,
                         headers=token(gateway_app, VLAARDINGEN, OFFICER))
    assert response.status_code == 422, response.json
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert entries(gateway_app, "rights.rectified") == []


# --- objection -----------------------------------------------------------------------


def test_an_objection_is_recorded_and_reaches_the_covenants_contact_point(
    gateway_app: Flask, http: FlaskClient
) -> None:
    response = http.post("/v1/rights/objections", json={
        "identifiers": EVA, "covenant": "riec-rr-mensenhandel",
        "grounds": "Betrokkene maakt bezwaar tegen verwerking voor de ketenaanpak."},
        headers=token(gateway_app, VLAARDINGEN, OFFICER))

    assert response.status_code == 201, response.json
    assert response.json["contact_point"] == RIEC
    [notice] = notices(gateway_app, http, RIEC)
    assert notice["type"] == "subject.objection"
    assert notice["from"] == VLAARDINGEN
    assert notice["contact_point"] == "privacy@riec-rotterdam-rijnmond.example"
    assert notice["pseudonym"].startswith("PSN")
    assert notices(gateway_app, http, VLAARDINGEN) == []
    [audited] = entries(gateway_app, "rights.objection_recorded")
    assert "bezwaar" not in json.dumps(audited)
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        kinds = session.scalars(select(OutboxMessage.kind).where(
            OutboxMessage.recipient == RIEC)).all()
    assert "subject.objection" in kinds


@pytest.mark.parametrize(
    ("partner", "covenant", "status"),
    [(VLAARDINGEN, "geen-convenant", 422), (OUTSIDER, "riec-rr-mensenhandel", 403)],
    ids=["unknown-covenant", "not-a-party"],
)
def test_an_objection_needs_a_known_covenant_of_the_officers_partner(
    gateway_app: Flask, http: FlaskClient, partner: str, covenant: str, status: int
) -> None:
    response = http.post("/v1/rights/objections", json={
        "identifiers": EVA, "covenant": covenant, "grounds": "bezwaar"},
        headers=token(gateway_app, partner, OFFICER))
    assert response.status_code == status, response.json


# --- authorisation -------------------------------------------------------------------

ENDPOINTS = [
    ("/v1/rights/restrictions", {"identifiers": EVA}, 201),
    ("/v1/rights/rectifications", {"identifiers": EVA, "corrections": {"family_name": "X"}}, 201),
    ("/v1/rights/objections", {"identifiers": EVA, "covenant": "riec-rr-mensenhandel",
                               "grounds": "bezwaar"}, 201),
]


@pytest.mark.parametrize(("path", "body", "allowed"), ENDPOINTS,
                         ids=["restriction", "rectification", "objection"])
@pytest.mark.parametrize(
    ("scopes", "expected"),
    [(None, 401), (("inbox:read",), 403), (("audit:read",), 403), (("reidentify",), 403),
     (OFFICER, None)],
    ids=["no-token", "inbox", "audit-read", "reidentify", "privacy-officer"],
)
def test_only_a_privacy_officer_invokes_a_right(
    gateway_app: Flask, http: FlaskClient, path: str, body: dict[str, Any], allowed: int,
    scopes: tuple[str, ...] | None, expected: int | None,
) -> None:
    headers = {} if scopes is None else token(gateway_app, VLAARDINGEN, scopes)
    response = http.post(path, json=body, headers=headers)
    assert response.status_code == (expected or allowed), response.json


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [(None, 401), (("audit:read",), 403), (OFFICER, 202)],
    ids=["no-token", "audit-read", "privacy-officer"],
)
def test_only_a_privacy_officer_lifts(
    gateway_app: Flask, http: FlaskClient, scopes: tuple[str, ...] | None, expected: int
) -> None:
    restriction = http.post("/v1/rights/restrictions", json={"identifiers": EVA},
                            headers=bearer(gateway_app, VLAARDINGEN, OFFICER)).json
    headers = {} if scopes is None else bearer(gateway_app, VLAARDINGEN, scopes)
    response = http.post(f"/v1/rights/restrictions/{restriction['id']}/lift", headers=headers)
    assert response.status_code == expected, response.json


@pytest.mark.parametrize(("scopes", "expected"),
                         [(None, 401), (OFFICER, 403), (INBOX, 200)],
                         ids=["no-token", "officer", "inbox"])
def test_only_an_inbox_reader_reads_notices(
    gateway_app: Flask, http: FlaskClient, scopes: tuple[str, ...] | None, expected: int
) -> None:
    headers = {} if scopes is None else token(gateway_app, RIEC, scopes)
    assert http.get("/v1/inbox/notices", headers=headers).status_code == expected


def test_a_restriction_by_any_officer_holds_for_every_sender(
    gateway_app: Flask, http: FlaskClient
) -> None:
    http.post("/v1/rights/restrictions", json={"identifiers": EVA},
              headers=token(gateway_app, VLAARDINGEN, OFFICER))
    response = send(gateway_app, http, [person("p1", EVA)], sender=POLITIE)
    assert response.status_code == 403, response.json


def test_a_restriction_follows_a_link_confirmed_after_it(
    gateway_app: Flask, http: FlaskClient
) -> None:
    misspelt = {**PIETER, "family_name": "de Vreis"}
    assert send(gateway_app, http, [person("p1", PIETER)]).status_code == 201
    assert send(gateway_app, http, [person("p1", misspelt)]).status_code == 201
    http.post("/v1/rights/restrictions", json={"identifiers": PIETER},
              headers=token(gateway_app, VLAARDINGEN, OFFICER))
    assert send(gateway_app, http, [person("p1", misspelt)]).status_code == 201

    reviewer = bearer(gateway_app, RIEC, ("linkage:read", "linkage:write"))
    [candidate] = http.get("/v1/linkage/candidates", headers=reviewer).json["items"]
    for confirming in (reviewer, bearer(gateway_app, RIEC, ("linkage:write",))):
        decided = http.post(f"/v1/linkage/candidates/{candidate['id']}/decision",
                            json={"decision": "confirmed"}, headers=confirming)
    assert decided.status_code == 200, decided.json

    assert send(gateway_app, http, [person("p1", misspelt)]).status_code == 403


def test_a_recipient_released_the_identity_is_sent_the_corrected_values(
    gateway_app: Flask, http: FlaskClient
) -> None:
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 201  # pseudonymous
    [delivered] = inbox(gateway_app, http)
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        # As a re-identification the policy allowed leaves it (gateway.identity).
        session.add(Reidentification(
            id=str(uuid.uuid4()), partner=RIEC, client_id="c", reason="dossier",
            pseudonym=delivered["subjects"][0]["pseudonym"], status="released",
            requires_approval=False, subject_id=container.vault.subject_id_for(EVA)))

    http.post("/v1/rights/rectifications",
              json={"identifiers": EVA, "corrections": {"given_names": "Eva Maria"}},
              headers=token(gateway_app, VLAARDINGEN, OFFICER))

    [notice] = notices(gateway_app, http)
    assert notice["identifiers"] == {"given_names": "Eva Maria"}
    [read] = entries(gateway_app, "inbox.notices_read")
    assert read["identities_disclosed"] == [container.vault.audit_pseudonym_for(EVA)]
