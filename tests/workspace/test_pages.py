"""The pages on the services: who gets 401/403/200, and each page shows what the API shows
that partner, with the same audit entry naming the person beside the partner."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.models import AuditEntry
from gateway.cases.models import CaseAssignment
from gateway.clock import ManualClock
from gateway.db import make_engine, make_session_factory, transaction
from tests.cases.factories import create_case, put_case_at, token
from tests.conftest import TEST_TODAY
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN
from tests.meetings.factories import add_item, create_meeting, publish
from tests.workspace.factories import form_token, signed_in_client

PAGES = ("/werkruimte/signaal", "/werkruimte/inbox", "/werkruimte/casussen",
         "/werkruimte/agenda", "/werkruimte/overleggen")
# What each role may open, in the order of PAGES (the scopes of the API endpoints behind them).
MATRIX = {
    "medewerker": (200, 200, 403, 403, 403),
    "casemanager": (200, 200, 200, 200, 403),
    "regie": (200, 200, 200, 200, 200),
    "voorzitter": (403, 403, 200, 200, 200),
    "privacyfunctionaris": (403, 403, 403, 403, 403),
    "privacyfunctionaris-regio": (403, 403, 403, 403, 403),
}
ROLE_PARTNER = {"regie": RIEC, "voorzitter": RIEC}
SECRET_TITLE = "Uitzendbureau Havenstraat 12"
EN_DASH = "\N{EN DASH}"  # between the planned dates on the case page


def audit_entries(app: Flask) -> list[dict[str, Any]]:
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        return [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]


@pytest.mark.parametrize("path", PAGES)
def test_nobody_signed_in_gets_401_on_every_page(http: FlaskClient, path: str) -> None:
    response = http.get(path)

    assert response.status_code == 401
    assert 'href="/werkruimte/inloggen"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", MATRIX)
def test_each_role_opens_exactly_the_pages_its_scopes_allow(gateway_app: Flask,
                                                            role: str) -> None:
    client, _ = signed_in_client(gateway_app, ROLE_PARTNER.get(role, VLAARDINGEN), role)

    assert tuple(client.get(path).status_code for path in PAGES) == MATRIX[role]


def test_pages_are_not_cached_and_run_no_inline_script(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, "medewerker")

    response = client.get("/werkruimte/inbox")

    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.get_data(as_text=True)


def test_a_signal_reported_in_the_form_reaches_the_riec_and_the_audit_names_the_person(
        gateway_app: Flask) -> None:
    reporter, someone = signed_in_client(gateway_app, VLAARDINGEN, "medewerker")
    form = {"csrf_token": form_token(reporter, "/werkruimte/signaal"),
            "idempotency_key": "3f1c8c0e-5f43-4a43-a2a4-1b1d3c0e9a10",
            "covenant": "riec-rr-mensenhandel", "subject_role": "slachtoffer",
            "given_names": "Eva", "family_name": "Jansen", "birth_date": "1990-03-14",
            "category": "uitbuitingssignalen",
            "indicators": "geen-id-papieren, schulden-bij-werkgever",
            "observed_at": "2026-11-20"}

    sent = reporter.post("/werkruimte/signaal", data=form)
    again = reporter.post("/werkruimte/signaal", data={
        **form, "csrf_token": form_token(reporter, "/werkruimte/signaal")})

    assert sent.status_code == 201, sent.get_data(as_text=True)
    exchange_id = re.search(r"nummer ([0-9a-f-]{36})", sent.get_data(as_text=True))
    assert exchange_id
    assert exchange_id.group(1) in again.get_data(as_text=True)  # a resent form sends once
    [created] = [e for e in audit_entries(gateway_app) if e["action"] == "exchange.delivered"]
    assert created["actor"] == {"partner": VLAARDINGEN, "client": f"workspace:{someone.id}",
                                "person": someone.id, "oin": "99999999000000001000"}
    riec, _ = signed_in_client(gateway_app, RIEC, "regie")
    inbox = riec.get("/werkruimte/inbox").get_data(as_text=True)
    assert "gemeente-vlaardingen" in inbox
    assert "Jansen" not in inbox
    assert "PSN" in inbox


def test_a_bad_field_is_shown_at_the_field_and_nothing_is_sent(gateway_app: Flask) -> None:
    reporter, _ = signed_in_client(gateway_app, VLAARDINGEN, "medewerker")

    response = reporter.post("/werkruimte/signaal", data={
        "csrf_token": form_token(reporter, "/werkruimte/signaal"),
        "covenant": "riec-rr-mensenhandel", "subject_role": "slachtoffer",
        "given_names": "Eva", "family_name": "Jansen", "birth_date": "14-03-1990",
        "category": "uitbuitingssignalen", "indicators": "geen-id-papieren"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="birth_date-fout"' in page
    assert 'aria-describedby="birth_date-fout"' in page
    assert not [e for e in audit_entries(gateway_app) if e["action"] == "exchange.delivered"]


def test_cases_list_and_detail_show_the_partners_cases_only(
        gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)  # Vlaardingen is its case manager
    manager, someone = signed_in_client(gateway_app, VLAARDINGEN, "casemanager")
    outsider, _ = signed_in_client(gateway_app, POLITIE, "casemanager")

    listed = manager.get("/werkruimte/casussen").get_data(as_text=True)
    detail = manager.get(f"/werkruimte/casussen/{case['id']}")

    assert f"/werkruimte/casussen/{case['id']}" in listed
    assert detail.status_code == 200
    assert "detectie" in detail.get_data(as_text=True)
    assert case["id"] not in outsider.get("/werkruimte/casussen").get_data(as_text=True)
    assert outsider.get(f"/werkruimte/casussen/{case['id']}").status_code == 404
    [read] = [e for e in audit_entries(gateway_app) if e["action"] == "case.read"]
    assert read["actor"]["person"] == someone.id


def test_the_agenda_shows_each_partner_its_own_view_only(
        gateway_app: Flask, http: FlaskClient) -> None:
    early = create_case(gateway_app, http)
    weighed = create_case(gateway_app, http)
    put_case_at(gateway_app, weighed["id"], "weging_kwalificatie")
    meeting_id = create_meeting(gateway_app, http, [GGD, POLITIE, RIEC, VLAARDINGEN])
    add_item(gateway_app, http, meeting_id, early["id"], SECRET_TITLE)
    add_item(gateway_app, http, meeting_id, weighed["id"], "Nagelstudio Westwijk")
    publish(gateway_app, http, meeting_id)
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")

    listed = police.get("/werkruimte/agenda").get_data(as_text=True)
    page = police.get(f"/werkruimte/agenda/{meeting_id}").get_data(as_text=True)

    assert f"/werkruimte/agenda/{meeting_id}" in listed
    assert "Nagelstudio Westwijk" in page
    assert SECRET_TITLE not in page
    assert early["id"] not in page
    municipality, _ = signed_in_client(gateway_app, VLAARDINGEN, "casemanager")
    assert SECRET_TITLE in municipality.get(f"/werkruimte/agenda/{meeting_id}").get_data(
        as_text=True)


def test_an_agenda_not_published_to_the_partner_is_not_found(
        gateway_app: Flask, http: FlaskClient) -> None:
    meeting_id = create_meeting(gateway_app, http, [RIEC, VLAARDINGEN])
    publish(gateway_app, http, meeting_id)
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")

    assert police.get(f"/werkruimte/agenda/{meeting_id}").status_code == 404


def test_english_is_available(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, "medewerker")
    assert "Mijn inbox" in client.get("/werkruimte/").get_data(as_text=True)

    client.post("/werkruimte/taal", data={"csrf_token": form_token(client, "/werkruimte/"),
                                          "taal": "en"})

    page = client.get("/werkruimte/").get_data(as_text=True)
    assert "My inbox" in page
    assert '<html lang="en">' in page


def test_a_database_fault_is_a_503_page_that_says_when_to_retry(
        gateway_app: Flask, tmp_path: Any) -> None:
    http, _ = signed_in_client(gateway_app)
    container = gateway_app.extensions["ketenpoort"]
    # A database that is not there: the next page finds its session store unreachable.
    container.workspace.sessions.session_factory = make_session_factory(
        make_engine(f"sqlite:///{tmp_path}/absent/db.sqlite3"))

    response = http.get("/werkruimte/inbox")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "database" in response.get_data(as_text=True)


def _offered(app: Flask, http: FlaskClient) -> tuple[str, str]:
    """A case at toewijzing_interventie with an intervention offered to the police."""
    case = create_case(app, http)
    put_case_at(app, case["id"], "toewijzing_interventie", assigned=POLITIE, state="offered")
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        assignment = session.scalars(select(CaseAssignment.id).where(
            CaseAssignment.case_id == case["id"])).one()
    return case["id"], assignment


def test_the_assigned_partner_declines_only_with_a_reason_and_the_audit_names_the_person(
        gateway_app: Flask, http: FlaskClient) -> None:
    case_id, assignment = _offered(gateway_app, http)
    police, someone = signed_in_client(gateway_app, POLITIE, "casemanager")
    page = f"/werkruimte/casussen/{case_id}"
    action = f"{page}/interventies/{assignment}/besluit"

    bare = police.post(action, data={"csrf_token": form_token(police, page),
                                     "besluit": "afwijzen"})
    declined = police.post(action, data={"csrf_token": form_token(police, page),
                                         "besluit": "afwijzen", "reason": "Geen capaciteit"})

    assert bare.status_code == 422
    assert "needs a reason" in bare.get_data(as_text=True)
    assert declined.status_code == 303
    [entry] = [e for e in audit_entries(gateway_app)
               if e["action"] == "case.assignment_declined"]
    assert entry["actor"]["person"] == someone.id
    assert police.get(page).status_code == 404  # declining ends the involvement


def test_the_assigned_partner_accepts_and_reports_progress(gateway_app: Flask,
                                                           http: FlaskClient) -> None:
    case_id, assignment = _offered(gateway_app, http)
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")
    page = f"/werkruimte/casussen/{case_id}"
    police.post(f"{page}/interventies/{assignment}/besluit", data={
        "csrf_token": form_token(police, page), "besluit": "accepteren"})
    put_case_at(gateway_app, case_id, "uitvoering")

    reported = police.post(f"{page}/interventies/{assignment}/voortgang", data={
        "csrf_token": form_token(police, page), "note": "Eerste controle uitgevoerd"})

    assert reported.status_code == 303
    shown = police.get(page).get_data(as_text=True)
    assert "Eerste controle uitgevoerd" in shown
    assert "accepted" in shown


def test_the_assigned_partner_accepts_with_its_own_priority_and_dates(
        gateway_app: Flask, http: FlaskClient) -> None:
    case_id, assignment = _offered(gateway_app, http)
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")
    page = f"/werkruimte/casussen/{case_id}"
    form = police.get(page).get_data(as_text=True)
    assert 'name="planned_start" type="date"' in form
    assert "Uw prioriteit" in form
    start, end = TEST_TODAY + timedelta(days=7), TEST_TODAY + timedelta(days=30)
    action = f"{page}/interventies/{assignment}/besluit"

    backwards = police.post(action, data={
        "csrf_token": form_token(police, page), "besluit": "accepteren", "priority": "hoog",
        "planned_start": end.isoformat(), "planned_end": start.isoformat()})
    accepted = police.post(action, data={
        "csrf_token": form_token(police, page), "besluit": "accepteren", "priority": "hoog",
        "planned_start": start.isoformat(), "planned_end": end.isoformat()})

    assert backwards.status_code == 422
    assert "cannot be before planned_start" in backwards.get_data(as_text=True)
    assert accepted.status_code == 303
    shown = police.get(page).get_data(as_text=True)
    assert f"hoog · accepted · gepland {start.isoformat()} {EN_DASH} {end.isoformat()}" in shown
    [entry] = [e for e in audit_entries(gateway_app)
               if e["action"] == "case.assignment_accepted"]
    assert entry["priority"] == "hoog"


def test_an_acceptance_with_the_fields_left_empty_keeps_the_offered_priority(
        gateway_app: Flask, http: FlaskClient) -> None:
    case_id, assignment = _offered(gateway_app, http)
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")
    page = f"/werkruimte/casussen/{case_id}"

    accepted = police.post(f"{page}/interventies/{assignment}/besluit", data={
        "csrf_token": form_token(police, page), "besluit": "accepteren", "priority": "",
        "planned_start": "", "planned_end": ""})

    assert accepted.status_code == 303
    with transaction(gateway_app.extensions["ketenpoort"].session_factory) as session:
        stored = session.get(CaseAssignment, assignment)
        assert stored is not None
        assert (stored.priority, stored.planned_start, stored.planned_end) == (
            "normaal", None, None)


def test_a_role_without_case_write_cannot_decide(gateway_app: Flask, http: FlaskClient) -> None:
    case_id, assignment = _offered(gateway_app, http)
    reader, _ = signed_in_client(gateway_app, POLITIE, "voorzitter")
    page = f"/werkruimte/casussen/{case_id}"

    response = reader.post(f"{page}/interventies/{assignment}/besluit", data={
        "csrf_token": form_token(reader, "/werkruimte/"), "besluit": "accepteren"})

    assert response.status_code == 403


def test_the_inbox_page_shows_the_messages_and_the_cases_page_the_terms(
        gateway_app: Flask, http: FlaskClient, clock: ManualClock) -> None:
    case = create_case(gateway_app, http)  # Vlaardingen is told it manages it
    clock.advance(timedelta(days=15))  # past detectie's 14 days
    manager, _ = signed_in_client(gateway_app, VLAARDINGEN, "casemanager")

    inbox = manager.get("/werkruimte/inbox").get_data(as_text=True)
    overdue = manager.get("/werkruimte/casussen?overdue=true").get_data(as_text=True)
    assigned = manager.get("/werkruimte/casussen?role=assigned").get_data(as_text=True)

    assert "U bent aangewezen als casusregisseur" in inbox
    assert f'href="/werkruimte/casussen/{case["id"]}"' in inbox
    assert f"/werkruimte/casussen/{case['id']}" in overdue
    assert "over tijd" in overdue
    assert f"/werkruimte/casussen/{case['id']}" not in assigned


def test_the_case_page_shows_whom_an_intervention_is_for_and_its_planning(
        gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "toewijzing_interventie")
    offered = http.post(f"/v1/cases/{case['id']}/assignments", json={
        "partner": POLITIE, "intervention": "opsporing",
        "subjects": [case["subjects"][1]["pseudonym"]]},
        headers=token(gateway_app, RIEC, ("case:write",)))
    http.post(f"/v1/cases/{case['id']}/assignments/{offered.json['id']}/decision",
              json={"accept": True, "planned_start": "2030-02-01"},
              headers=token(gateway_app, POLITIE, ("case:write",)))
    manager, _ = signed_in_client(gateway_app, VLAARDINGEN, "casemanager")

    page = manager.get(f"/werkruimte/casussen/{case['id']}").get_data(as_text=True)

    assert f"Voor: {case['subjects'][1]['alias']} (dader)" in page
    assert "gepland 2030-02-01" in page
