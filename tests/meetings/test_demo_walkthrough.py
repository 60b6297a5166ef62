"""The scripted demo: one case from signal to closure, with a case meeting in between.

Every call uses a token holding only the scope that call needs, as partner systems would.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.models import AuditEntry
from gateway.db import transaction
from tests.cases.factories import token
from tests.factories import EVA, GGD, PIETER, POLITIE, RIEC, VLAARDINGEN, exchange_body, item
from tests.meetings.factories import MEETING_DAY, queued_views

WRITE, INBOX = ("exchange:write",), ("inbox:read",)
CASE_WRITE, CASE_READ = ("case:write",), ("case:read",)
ADMIN, READ = ("meeting:admin",), ("meeting:read",)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.json
    return response.json


def test_one_case_from_signal_to_closure_with_a_meeting_in_between(
    gateway_app: Flask, http: FlaskClient
) -> None:
    def as_(partner: str, scopes: tuple[str, ...]) -> dict[str, str]:
        return token(gateway_app, partner, scopes)

    # 1. detectie: the municipality and the police each send the RIEC a signal.
    signal = _ok(http.post("/v1/exchanges", headers=as_(VLAARDINGEN, WRITE), json=exchange_body(
        subjects=[{"ref": "eva", "role": "slachtoffer", "identifiers": EVA},
                  {"ref": "pieter", "role": "dader", "identifiers": PIETER}],
        items=[item("uitbuitingssignalen", "eva", indicators=["geen-id-papieren"]),
               item("huisvesting", "pieter", overbewoning=True)])), 201)["id"]
    police = _ok(http.post("/v1/exchanges", headers=as_(POLITIE, WRITE), json=exchange_body(
        subjects=[{"ref": "p", "role": "dader", "identifiers": PIETER}],
        items=[item("strafrechtelijk", "p", antecedenten=2)])), 201)["id"]

    # 2. The RIEC finds both in its inbox, under its own pseudonyms, and builds a case.
    inbox = _ok(http.get("/v1/inbox", headers=as_(RIEC, INBOX)))["items"]
    pseudonym = {s["ref"]: s["pseudonym"] for d in inbox if d["exchange_id"] == signal
                 for s in d["subjects"]}
    case = _ok(http.post("/v1/cases", headers=as_(RIEC, CASE_WRITE), json={
        "covenant": "riec-rr-mensenhandel", "signals": [signal, police],
        "subjects": [{"pseudonym": pseudonym["eva"], "role": "slachtoffer"},
                     {"pseudonym": pseudonym["pieter"], "role": "dader"}],
        "case_manager": VLAARDINGEN}), 201)
    case_path = f"/v1/cases/{case['id']}"

    # 3. dossiervorming: the municipality adds to the dossier; the case sets the step.
    _ok(http.post(f"{case_path}/transitions", headers=as_(RIEC, CASE_WRITE),
                  json={"to": "dossiervorming"}))
    addition = exchange_body(case_id=case["id"], items=[item("verblijfplaats", "p1")])
    del addition["process_step"]
    added = _ok(http.post("/v1/exchanges", headers=as_(VLAARDINGEN, WRITE), json=addition), 201)
    assert added["decisions"][0]["grants"] == {"verblijfplaats": ["gemeente-bronnen-dossier"]}
    _ok(http.post(f"{case_path}/transitions", headers=as_(RIEC, CASE_WRITE),
                  json={"to": "weging_kwalificatie"}))

    # 4. The case meeting: agenda, routing preview, publication.
    meeting = _ok(http.post("/v1/meetings", headers=as_(RIEC, ADMIN), json={
        "covenant": "riec-rr-mensenhandel", "date": MEETING_DAY,
        "participants": [RIEC, VLAARDINGEN, POLITIE, GGD]}), 201)["id"]
    agenda_item = _ok(http.post(f"/v1/meetings/{meeting}/items", headers=as_(RIEC, ADMIN), json={
        "case_id": case["id"], "title": "Overbewoning Westwijk",
        "question": "Welke partner neemt de aanpak op zich?",
        "proposed_decision": "Gemeente: bestuurlijke aanpak, sluiting pand"}), 201)
    preview = _ok(http.get(f"/v1/meetings/{meeting}/routing", headers=as_(RIEC, ADMIN)))
    assert {p: v["view"] for p, v in preview["items"][0]["views"].items()} == {
        RIEC: "full", VLAARDINGEN: "pseudonymised", POLITIE: "pseudonymised",
        GGD: "pseudonymised"}
    assert _ok(http.post(f"/v1/meetings/{meeting}/publish", headers=as_(RIEC, ADMIN)))[
        "version"] == 1
    seen_by_police = _ok(http.get(f"/v1/meetings/{meeting}/agenda", headers=as_(POLITIE, READ)))
    assert seen_by_police["items"][0]["subjects"] == [
        {"alias": "Persoon A", "role": "slachtoffer"}, {"alias": "Persoon B", "role": "dader"}]

    # 5. The outcome assigns the municipality; the case moves to toewijzing_interventie.
    outcome = _ok(http.post(f"/v1/meetings/{meeting}/items/{agenda_item['id']}/outcome",
                            headers=as_(RIEC, ADMIN), json={
                                "approach": "bestuurlijke aanpak",
                                "assigned_partner": VLAARDINGEN,
                                "intervention": "sluiting pand (art. 174a Gemeentewet)",
                                "priority": "hoog"}))
    assert outcome["case_step"] == "toewijzing_interventie"
    assert outcome["published"]["version"] == 2
    offer = _ok(http.get(case_path, headers=as_(VLAARDINGEN, CASE_READ)))["assignments"][0]
    _ok(http.post(f"{case_path}/assignments/{offer['id']}/decision",
                  headers=as_(VLAARDINGEN, CASE_WRITE), json={"accept": True}))

    # 6. Now assigned, the municipality receives identities for its intervention.
    briefing = exchange_body(case_id=case["id"], recipients=[VLAARDINGEN],
                             items=[item("interventie", "p1", aanpak="sluiting")])
    del briefing["process_step"]
    briefed = _ok(http.post("/v1/exchanges", headers=as_(RIEC, WRITE), json=briefing), 201)
    assert briefed["decisions"][0]["identity"] == "identified"

    # 7. uitvoering, progress, evaluatie by the case manager, closure by the RIEC.
    _ok(http.post(f"{case_path}/transitions", headers=as_(RIEC, CASE_WRITE),
                  json={"to": "uitvoering"}))
    _ok(http.post(f"{case_path}/assignments/{offer['id']}/progress",
                  headers=as_(VLAARDINGEN, CASE_WRITE), json={"note": "pand gesloten"}), 201)
    _ok(http.post(f"{case_path}/transitions", headers=as_(VLAARDINGEN, CASE_WRITE),
                  json={"to": "evaluatie"}))
    closed = _ok(http.post(f"{case_path}/transitions", headers=as_(RIEC, CASE_WRITE),
                           json={"to": "gesloten"}))
    assert closed["closed_at"] is not None
    late = exchange_body(case_id=case["id"])
    del late["process_step"]
    assert http.post("/v1/exchanges", headers=as_(VLAARDINGEN, WRITE),
                     json=late).status_code == 409

    # 8. Everything was queued for delivery and audited, and no identifier went into either.
    container = gateway_app.extensions["ketenpoort"]
    queued = queued_views(gateway_app)
    with transaction(container.session_factory) as session:
        trail = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    assert sorted(m.recipient for m in queued if m.payload["version"] == 1) == sorted(
        [RIEC, VLAARDINGEN, POLITIE, GGD])
    actions = [e["action"] for e in trail if e.get("case_id") == case["id"]
               or e.get("meeting_id") == meeting]
    for action in ("case.created", "case.moved", "meeting.published",
                   "meeting.outcome_recorded", "case.assignment_accepted",
                   "case.progress_reported"):
        assert action in actions
    queued_text = json.dumps([m.payload for m in queued])
    for plaintext in ("111222333", "Jansen", "Vries"):
        assert plaintext not in queued_text
