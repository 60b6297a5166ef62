"""The subject access report is complete: every subject key of the person, their cases and
meetings, what each recipient got about them only, and a proof per entry that verifies offline.

Each test here failed on the report as it was before (issue 14's "Why").
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from audit.verify import verify_subject_access
from tests.cases.factories import create_case, put_case_at, token
from tests.factories import EVA, PIETER, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body, item
from tests.meetings.factories import add_item, create_meeting, publish

SAR = "/v1/audit/subject-access"
OFFICER = ("audit:read",)
EVA_BY_NAME = {k: v for k, v in EVA.items() if k != "bsn"}
EVA_BSN_ONLY = {"bsn": EVA["bsn"]}
STRANGER = {"family_name": "Bakker", "given_names": "Sem", "birth_date": "1991-01-01"}


def _send(app: Flask, http: FlaskClient, identifiers: dict[str, str]) -> str:
    body = exchange_body(subjects=[{"ref": "p1", "role": "slachtoffer",
                                    "identifiers": identifiers}])
    response = http.post("/v1/exchanges", json=body, headers=token(app, VLAARDINGEN,
                                                                    ("exchange:write",)))
    assert response.status_code == 201, response.json
    return str(response.json["audit_event_id"])


def _report(app: Flask, http: FlaskClient, identifiers: dict[str, str],
            query: str = "") -> dict[str, Any]:
    response = http.post(SAR + query, json={"identifiers": identifiers},
                         headers=token(app, RIEC, OFFICER))
    assert response.status_code == 200, response.json
    report: dict[str, Any] = response.json
    return report


def _event_ids(report: dict[str, Any], action_prefix: str = "") -> list[str]:
    return [e["event_id"] for e in report["entries"] if e["action"].startswith(action_prefix)]


def test_a_report_from_name_and_birth_date_finds_what_was_sent_with_the_bsn(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """The same person sent once with a BSN, once with name and birth date, not linked."""
    with_bsn = _send(gateway_app, http, EVA)
    by_name = _send(gateway_app, http, EVA_BY_NAME)

    for asked in (EVA_BY_NAME, EVA_BSN_ONLY, EVA):
        assert _event_ids(_report(gateway_app, http, asked), "exchange.") == [with_bsn, by_name]
    assert _event_ids(_report(gateway_app, http, STRANGER), "exchange.") == []


def test_case_moves_assignments_and_meeting_publications_about_the_person_are_listed(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)  # about Eva and Pieter
    put_case_at(gateway_app, case["id"], "weging_kwalificatie")
    meeting = create_meeting(gateway_app, http, [RIEC, VLAARDINGEN, POLITIE])
    other_meeting = create_meeting(gateway_app, http, [RIEC, VLAARDINGEN])
    add_item(gateway_app, http, meeting, case["id"], "Nagelstudio")
    publish(gateway_app, http, meeting)
    publish(gateway_app, http, other_meeting)
    moved = http.post(f"/v1/cases/{case['id']}/transitions",
                      json={"to": "toewijzing_interventie"},
                      headers=token(gateway_app, RIEC, ("case:write",)))
    assert moved.status_code == 200, moved.json
    assigned = http.post(f"/v1/cases/{case['id']}/assignments",
                         json={"partner": POLITIE, "intervention": "strafrechtelijk onderzoek"},
                         headers=token(gateway_app, RIEC, ("case:write",)))
    assert assigned.status_code in (200, 201), assigned.json

    report = _report(gateway_app, http, EVA)
    via = {(e["action"], e["via"]) for e in report["entries"]}

    assert {("case.created", "person"), ("meeting.item_added", "case"),
            ("meeting.published", "meeting"), ("case.moved", "case"),
            ("case.assignment_offered", "case")} <= via, via
    assert report["case_ids"] == [case["id"]]
    published = [e for e in report["entries"] if e["action"] == "meeting.published"]
    assert {e["meeting_id"] for e in published} == {meeting}
    assert not {e["action"] for e in _report(gateway_app, http, STRANGER)["entries"]} & {
        "case.created", "meeting.published", "case.moved"}


def test_each_recipient_lists_only_what_it_got_about_this_person_and_under_which_grant(
    gateway_app: Flask, http: FlaskClient
) -> None:
    body = exchange_body(
        subjects=[{"ref": "p1", "role": "slachtoffer", "identifiers": EVA},
                  {"ref": "p2", "role": "dader", "identifiers": PIETER}],
        items=[item("uitbuitingssignalen", "p1"), item("huisvesting", "p2")],
    )
    sent = http.post("/v1/exchanges", json=body, headers=bearer(gateway_app, VLAARDINGEN))
    assert sent.status_code == 201, sent.json

    [eva] = _report(gateway_app, http, EVA)["entries"][:1]
    [riec] = eva["recipients"]

    assert riec["categories_delivered"] == ["uitbuitingssignalen"]
    assert list(riec["grants"]) == ["uitbuitingssignalen"]
    assert riec["grants"]["uitbuitingssignalen"]
    assert riec["identity"] == "pseudonym"


def test_every_entry_carries_an_inclusion_proof_that_verifies_offline(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, EVA)
    _send(gateway_app, http, EVA_BY_NAME)
    container = gateway_app.extensions["ketenpoort"]
    container.sequencer_once().run_once()

    report = _report(gateway_app, http, EVA, "?copy=verification")
    proven = [e for e in report["entries"] if e["proof"] is not None]

    assert len(proven) == 2
    assert report["checkpoint"]["tree_size"] >= 2
    ok, summary = verify_subject_access(report)
    assert ok, summary
    assert all(e["entry"]["actor"]["oin"] for e in proven)  # entries naming OINs verify too
    renamed = json.loads(json.dumps(report))
    renamed["entries"][0]["entry"]["actor"]["oin"] = "9" * 20
    assert not verify_subject_access(renamed)[0]
    tampered = json.loads(json.dumps(report))
    tampered["entries"][0]["entry"]["recipients"] = [POLITIE]
    assert not verify_subject_access(tampered)[0]
    forged = json.loads(json.dumps(report))
    forged["checkpoint"]["tree_size"] += 1
    assert not verify_subject_access(forged)[0]


def test_the_pdf_is_dutch_and_embeds_the_report_for_the_verifier(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, EVA)
    gateway_app.extensions["ketenpoort"].sequencer_once().run_once()
    headers = token(gateway_app, RIEC, OFFICER)

    by_query = http.post(f"{SAR}?format=pdf", json={"identifiers": EVA}, headers=headers)
    by_accept = http.post(SAR, json={"identifiers": EVA},
                          headers={**headers, "Accept": "application/pdf"})

    for response in (by_query, by_accept):
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        pdf = PdfReader(io.BytesIO(response.data))
        text = "".join(page.extract_text() for page in pdf.pages)
        assert "Inzageverzoek (AVG art. 15)" in text
        assert "Ondertekend controlepunt" in text
        assert "Inclusiebewijs: blad" in text
        for value in EVA.values():
            assert value not in text
        [embedded] = pdf.attachments["inzage.json"]
        report = json.loads(embedded)
        assert verify_subject_access(report)[0]
        assert report["entries"][0]["event_id"] in text
