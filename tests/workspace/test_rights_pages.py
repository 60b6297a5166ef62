"""The data subject's rights as pages: who gets 401/403/200, and each page action calls the
rights services as the API does, writing the same audit entry (naming the person too)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.rights.models import RightsRequest
from tests.cases.factories import token
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN
from tests.rights.factories import EVA_BY_NAME, notices, person, send
from tests.rights.factories import OFFICER as RIGHTS
from tests.workspace.factories import form_token, signed_in_client
from tests.workspace.officer import OFFICER, REGIONAL_OFFICER, container_of
from tests.workspace.test_officer_pages import ROLE_PARTNER
from tests.workspace.test_pages import audit_entries

INZAGE = "/werkruimte/privacy/inzage"
RECTIFICATIE = "/werkruimte/privacy/rectificatie"
BEPERKING = "/werkruimte/privacy/beperking"
BEZWAAR = "/werkruimte/privacy/bezwaar"
PAGES = (INZAGE, RECTIFICATIE, BEPERKING, BEZWAAR)
# In the order of PAGES: subject access needs audit:read (the region's officer, as the API's
# subject-access client); the other rights rights:write (every officer, for its partner).
MATRIX = {
    "medewerker": (403,) * 4,
    "casemanager": (403,) * 4,
    "regie": (403,) * 4,
    "voorzitter": (403,) * 4,
    OFFICER: (403, 200, 200, 200),
    REGIONAL_OFFICER: (200,) * 4,
}


def post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    """Fill in the form of the page ``path`` belongs to (a lift button's is the list's)."""
    page = BEPERKING if path.startswith(BEPERKING) else path
    return client.post(path, data={"csrf_token": form_token(client, page), **data})


def last(app: Flask, action: str) -> dict[str, Any]:
    found = [e for e in audit_entries(app) if e["action"] == action]
    assert found, f"no {action} entry"
    return found[-1]


def restriction_rows(app: Flask) -> list[RightsRequest]:
    with transaction(container_of(app).session_factory) as session:
        rows = list(session.scalars(select(RightsRequest).where(
            RightsRequest.kind == "restriction").order_by(RightsRequest.created_at)))
        session.expunge_all()
        return rows


def without_actor(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("actor", "request_id", "event_id")}


@pytest.mark.parametrize("path", PAGES)
def test_nobody_signed_in_gets_401_on_every_rights_page(http: FlaskClient, path: str) -> None:
    assert http.get(path).status_code == 401


@pytest.mark.parametrize("role", MATRIX)
def test_each_role_opens_exactly_the_rights_pages_its_scopes_allow(gateway_app: Flask,
                                                                   role: str) -> None:
    client, _ = signed_in_client(gateway_app, ROLE_PARTNER.get(role, VLAARDINGEN), role)

    assert tuple(client.get(path).status_code for path in PAGES) == MATRIX[role]


@pytest.mark.parametrize("path", [RECTIFICATIE, BEPERKING, BEZWAAR])
def test_a_case_manager_cannot_post_a_rights_form(gateway_app: Flask, path: str) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, "casemanager")

    response = client.post(path, data={"csrf_token": form_token(client, "/werkruimte/inbox"),
                                       **EVA})

    assert response.status_code == 403
    assert not [e for e in audit_entries(gateway_app) if e["action"].startswith("rights.")]


def test_subject_access_shows_the_report_the_api_gives_and_audits_it_alike(
        gateway_app: Flask, http: FlaskClient) -> None:
    send(gateway_app, http, [person("p1", EVA)])
    client, someone = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = post(client, INZAGE, {**EVA_BY_NAME, "format": "html"})
    page_entry = last(gateway_app, "audit.subject_access")
    api = http.post("/v1/audit/subject-access", json={"identifiers": EVA_BY_NAME},
                    headers=token(gateway_app, RIEC, ("audit:read",)))
    api_entry = last(gateway_app, "audit.subject_access")

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert api.status_code == 200
    # The API's report finds one entry more: the page's own request, which concerns her.
    assert api_entry["event_ids"][:-1] == page_entry["event_ids"] != []
    assert f'<dd id="inzage-aantal">{len(page_entry["event_ids"])}</dd>' in text
    assert "exchange.delivered" in text
    assert page_entry["actor"] == {"partner": RIEC, "client": f"workspace:{someone.id}",
                                   "person": someone.id, "oin": "99999999000000005000"}
    assert without_actor(page_entry) | {"event_ids": []} == without_actor(api_entry) | {
        "event_ids": []}
    assert EVA["bsn"] not in str(page_entry)


def test_subject_access_downloads_the_dutch_pdf_from_a_posted_form(
        gateway_app: Flask, http: FlaskClient) -> None:
    send(gateway_app, http, [person("p1", EVA)])
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = post(client, INZAGE, {"bsn": EVA["bsn"], "format": "pdf"})

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"
    assert last(gateway_app, "audit.subject_access")["action"] == "audit.subject_access"


def test_subject_access_without_a_person_is_422_at_the_fields_and_audits_nothing(
        gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = post(client, INZAGE, {"bsn": "12", "format": "html"})

    assert response.status_code == 422
    assert 'id="bsn-fout"' in response.get_data(as_text=True)
    assert not [e for e in audit_entries(gateway_app) if e["action"] == "audit.subject_access"]


def test_a_rectification_from_the_page_notifies_the_recipient_as_the_api_does(
        gateway_app: Flask, http: FlaskClient) -> None:
    send(gateway_app, http, [person("p1", EVA)])
    client, someone = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    response = post(client, RECTIFICATIE, {"bsn": EVA["bsn"], "new_family_name": "Jansen-Bakker"})
    page_entry = last(gateway_app, "rights.rectified")
    api = http.post("/v1/rights/rectifications", headers=token(gateway_app, VLAARDINGEN, RIGHTS),
                    json={"identifiers": {"bsn": EVA["bsn"]},
                          "corrections": {"family_name": "Jansen"}})
    api_entry = last(gateway_app, "rights.rectified")

    assert response.status_code == 201, response.get_data(as_text=True)
    assert RIEC in response.get_data(as_text=True)
    assert api.status_code == 201, api.json
    assert page_entry["actor"]["person"] == someone.id
    assert page_entry.keys() == api_entry.keys()
    assert page_entry["notified"] == api_entry["notified"] == [RIEC]
    assert page_entry["audit_pseudonym"] == api_entry["audit_pseudonym"]
    assert [n["type"] for n in notices(gateway_app, http)] == ["subject.rectified"] * 2


def test_a_rectification_without_corrections_is_refused_and_changes_nothing(
        gateway_app: Flask, http: FlaskClient) -> None:
    send(gateway_app, http, [person("p1", EVA)])
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    response = post(client, RECTIFICATIE, {"bsn": EVA["bsn"]})

    assert response.status_code == 422
    assert "utrecht-alert--error" in response.get_data(as_text=True)
    assert not [e for e in audit_entries(gateway_app) if e["action"] == "rights.rectified"]


def test_lifting_a_restriction_on_the_page_takes_two_officers(gateway_app: Flask) -> None:
    first, someone = signed_in_client(gateway_app, VLAARDINGEN, OFFICER, "fg1@vl.example")
    second, other = signed_in_client(gateway_app, VLAARDINGEN, OFFICER, "fg2@vl.example")

    placed = post(first, BEPERKING, EVA_BY_NAME)
    [row] = restriction_rows(gateway_app)
    lift = f"{BEPERKING}/{row.id}/opheffen"
    asked = post(first, lift, {})
    again = post(first, lift, {})
    approved = post(second, lift, {})

    assert placed.status_code == 303
    assert placed.headers["Location"].endswith(BEPERKING)
    assert asked.status_code == 303
    assert again.status_code == 409
    assert "a second officer" in again.get_data(as_text=True)
    assert approved.status_code == 303
    assert restriction_rows(gateway_app)[0].status == "lifted"
    assert last(gateway_app, "rights.restricted")["actor"]["person"] == someone.id
    assert last(gateway_app, "rights.lift_requested")["actor"]["person"] == someone.id
    assert last(gateway_app, "rights.lifted")["actor"]["person"] == other.id


def test_the_restriction_page_lists_the_partners_restrictions_in_force(
        gateway_app: Flask, http: FlaskClient) -> None:
    http.post("/v1/rights/restrictions", json={"identifiers": EVA},
              headers=token(gateway_app, POLITIE, RIGHTS))
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)
    post(client, BEPERKING, EVA_BY_NAME)
    own, foreign = sorted(restriction_rows(gateway_app), key=lambda r: r.partner != VLAARDINGEN)
    post(client, f"{BEPERKING}/{own.id}/opheffen", {})

    page = client.get(BEPERKING).get_data(as_text=True)

    assert own.id in page
    assert foreign.id not in page
    assert "een andere functionaris moet goedkeuren" in page


def test_an_officer_cannot_lift_another_partners_restriction(gateway_app: Flask,
                                                              http: FlaskClient) -> None:
    placed = http.post("/v1/rights/restrictions", json={"identifiers": EVA},
                       headers=token(gateway_app, VLAARDINGEN, RIGHTS))
    client, _ = signed_in_client(gateway_app, POLITIE, OFFICER)

    response = post(client, f"{BEPERKING}/{placed.json['id']}/opheffen", {})

    assert response.status_code == 404
    assert restriction_rows(gateway_app)[0].status == "active"
    assert not [e for e in audit_entries(gateway_app) if e["action"].startswith("rights.lift")]


def test_a_restriction_placed_on_the_page_is_audited_as_by_the_api(
        gateway_app: Flask, http: FlaskClient) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)
    post(client, BEPERKING, EVA_BY_NAME)
    page_entry = last(gateway_app, "rights.restricted")
    http.post("/v1/rights/restrictions", json={"identifiers": EVA_BY_NAME},
              headers=token(gateway_app, VLAARDINGEN, RIGHTS))
    api_entry = last(gateway_app, "rights.restricted")

    assert without_actor(page_entry) == without_actor(api_entry)


def test_an_objection_from_the_page_reaches_the_contact_point(gateway_app: Flask,
                                                                http: FlaskClient) -> None:
    client, someone = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    response = post(client, BEZWAAR, {**EVA_BY_NAME, "covenant": "riec-rr-mensenhandel",
                                      "grounds": "geen toestemming voor verstrekking"})

    assert response.status_code == 201, response.get_data(as_text=True)
    assert RIEC in response.get_data(as_text=True)
    entry = last(gateway_app, "rights.objection_recorded")
    assert entry["actor"]["person"] == someone.id
    assert entry["contact_point"] == RIEC
    assert [n["type"] for n in notices(gateway_app, http)] == ["subject.objection"]


def test_an_objection_without_grounds_is_shown_at_the_field(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    response = post(client, BEZWAAR, {**EVA_BY_NAME, "covenant": "riec-rr-mensenhandel"})

    assert response.status_code == 422
    assert 'id="grounds-fout"' in response.get_data(as_text=True)
    assert not [e for e in audit_entries(gateway_app) if e["action"].startswith("rights.")]
