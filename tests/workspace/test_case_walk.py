"""A case walked from signal to closed in the workspace alone: the municipality reports, the
RIEC builds the case from its inbox and moves it, offers an intervention, the police accepts
and reports progress, the case manager evaluates, the RIEC closes. Every step is a form."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import create_case, put_case_at
from tests.factories import POLITIE, RIEC, VLAARDINGEN
from tests.meetings.factories import MEETING_DAY
from tests.workspace.factories import CSRF_FIELD, form_token, signed_in_client
from tests.workspace.test_pages import SECRET_TITLE, audit_entries


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """Post ``data`` as the form on ``page`` would, with that page's form token."""
    return client.post(action, data={"csrf_token": form_token(client, page), **data})


def move(client: FlaskClient, case_page: str, to: str) -> None:
    response = post_form(client, case_page, f"{case_page}/stap", {"to": to})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_a_case_goes_from_signal_to_closed_through_the_pages(gateway_app: Flask) -> None:
    municipality, _ = signed_in_client(gateway_app, VLAARDINGEN, "casemanager")
    sent = post_form(municipality, "/werkruimte/signaal", "/werkruimte/signaal", {
        "covenant": "riec-rr-mensenhandel", "subject_role": "slachtoffer",
        "given_names": "Eva", "family_name": "Jansen", "birth_date": "1990-03-14",
        "category": "uitbuitingssignalen", "indicators": "geen-id-papieren"})
    assert sent.status_code == 201

    riec, regisseur = signed_in_client(gateway_app, RIEC, "regie")
    inbox = riec.get("/werkruimte/inbox").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/werkruimte/casussen".*?</form>', inbox,
                     re.DOTALL)
    assert form
    fields = dict(re.findall(r'name="(signal|covenant|pseudonym)" value="([^"]+)"',
                             form.group(0)))
    token = CSRF_FIELD.search(inbox)
    assert token
    built = riec.post("/werkruimte/casussen", data={
        **fields, "role": "slachtoffer", "case_manager": VLAARDINGEN,
        "csrf_token": token.group(1)})
    assert built.status_code == 303, built.get_data(as_text=True)
    case_page = built.headers["Location"]
    for step in ("dossiervorming", "weging_kwalificatie", "toewijzing_interventie"):
        move(riec, case_page, step)

    offered = post_form(riec, case_page, f"{case_page}/interventies", {
        "partner": POLITIE, "intervention": "Controle uitzendbureau", "priority": "hoog"})
    assert offered.status_code == 303, offered.get_data(as_text=True)
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")
    assignment = re.search(r"/interventies/([0-9a-f-]{36})/besluit",
                           police.get(case_page).get_data(as_text=True))
    assert assignment
    action = f"{case_page}/interventies/{assignment.group(1)}"
    assert post_form(police, case_page, f"{action}/besluit",
                     {"besluit": "accepteren"}).status_code == 303
    move(riec, case_page, "uitvoering")
    assert post_form(police, case_page, f"{action}/voortgang",
                     {"note": "Controle uitgevoerd"}).status_code == 303
    move(municipality, case_page, "evaluatie")
    move(riec, case_page, "gesloten")

    closed = riec.get(case_page).get_data(as_text=True)
    assert "gesloten" in closed
    assert 'action="' + case_page + '/stap"' not in closed  # no move left to offer
    moves = [e for e in audit_entries(gateway_app) if e["action"] == "case.moved"]
    assert len(moves) == 6
    assert all("person" in e["actor"] for e in moves)
    assert moves[0]["actor"]["person"] == regisseur.id


def test_only_the_moves_the_table_allows_this_party_are_offered(gateway_app: Flask) -> None:
    municipality, _ = signed_in_client(gateway_app, VLAARDINGEN, "casemanager")
    riec, _ = signed_in_client(gateway_app, RIEC, "regie")
    case = create_case(gateway_app, gateway_app.test_client())
    page = f"/werkruimte/casussen/{case['id']}"

    as_regie = riec.get(page).get_data(as_text=True)
    as_manager = municipality.get(page).get_data(as_text=True)

    assert '<option value="dossiervorming">' in as_regie
    assert '<option value="gesloten">' in as_regie
    assert f'action="{page}/stap"' not in as_manager  # detectie moves are the regie's


def test_a_refused_move_is_shown_at_the_form_and_changes_nothing(gateway_app: Flask) -> None:
    riec, _ = signed_in_client(gateway_app, RIEC, "regie")
    case = create_case(gateway_app, gateway_app.test_client())
    page = f"/werkruimte/casussen/{case['id']}"

    response = post_form(riec, page, f"{page}/stap", {"to": "uitvoering"})

    assert response.status_code == 409
    assert "dossiervorming" in response.get_data(as_text=True)  # the allowed moves, named
    assert "detectie" in riec.get(page).get_data(as_text=True)


def test_the_riec_composes_checks_publishes_and_records_a_meeting_in_the_pages(
        gateway_app: Flask, http: FlaskClient) -> None:
    early = create_case(gateway_app, http)  # at detectie: hidden from the police
    weighed = create_case(gateway_app, http)
    put_case_at(gateway_app, weighed["id"], "weging_kwalificatie")
    riec, _ = signed_in_client(gateway_app, RIEC, "regie")
    called = post_form(riec, "/werkruimte/overleggen", "/werkruimte/overleggen", {
        "covenant": "riec-rr-mensenhandel", "date": MEETING_DAY,
        "participants": [RIEC, VLAARDINGEN, POLITIE]})
    assert called.status_code == 303, called.get_data(as_text=True)
    page = called.headers["Location"]
    for case, title in ((early, SECRET_TITLE), (weighed, "Nagelstudio Westwijk")):
        added = post_form(riec, page, f"{page}/punten", {
            "case_id": case["id"], "title": title, "question": "Welke aanpak?",
            "proposed_decision": "Bestuurlijke aanpak"})
        assert added.status_code == 303, added.get_data(as_text=True)

    matrix = riec.get(page).get_data(as_text=True)
    assert "workspace-view--hidden" in matrix
    assert "no-grant" in matrix  # the policy's reason, shown beside the view
    assert post_form(riec, page, f"{page}/publiceren", {}).status_code == 303
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")
    meeting_id = page.rsplit("/", 1)[1]
    agenda = police.get(f"/werkruimte/agenda/{meeting_id}").get_data(as_text=True)
    assert "Nagelstudio Westwijk" in agenda
    assert SECRET_TITLE not in agenda
    item = re.search(r"/punten/([0-9a-f-]{36})/uitkomst", riec.get(page).get_data(as_text=True)
                     .split("Nagelstudio Westwijk</h3>")[1])
    assert item
    recorded = post_form(riec, page, f"{page}/punten/{item.group(1)}/uitkomst", {
        "approach": "Controle door de politie", "assigned_partner": POLITIE})
    assert recorded.status_code == 303, recorded.get_data(as_text=True)
    case_page = police.get(f"/werkruimte/casussen/{weighed['id']}").get_data(as_text=True)
    assert "toewijzing_interventie" in case_page
    assert "Accepteren" in case_page  # the police is offered the intervention


def test_an_outcome_before_publication_is_refused_at_its_form(
        gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    riec, _ = signed_in_client(gateway_app, RIEC, "regie")
    page = post_form(riec, "/werkruimte/overleggen", "/werkruimte/overleggen", {
        "covenant": "riec-rr-mensenhandel", "date": MEETING_DAY,
        "participants": [RIEC, VLAARDINGEN]}).headers["Location"]
    post_form(riec, page, f"{page}/punten", {"case_id": case["id"], "title": "Punt",
                                             "question": "Vraag?", "proposed_decision": "Ja"})
    item = re.search(r"/punten/([0-9a-f-]{36})/uitkomst", riec.get(page).get_data(as_text=True))
    assert item

    response = post_form(riec, page, f"{page}/punten/{item.group(1)}/uitkomst",
                         {"approach": "Te vroeg"})

    assert response.status_code == 409
    assert "outcomes follow a published meeting" in response.get_data(as_text=True)
