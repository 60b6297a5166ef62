"""From signals to per-person outcomes, with every participant told through its inbox.

Two persons are weighed separately: the meeting assigns the police an intervention for the
offender only; the police plans it itself; the case manager, invited to the meeting because
its case is discussed, follows it all from its own inbox and work list.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import token
from tests.factories import EVA, PIETER, POLITIE, RIEC, VLAARDINGEN, exchange_body, item
from tests.meetings.factories import MEETING_DAY

WRITE, INBOX = ("exchange:write",), ("inbox:read",)
CASE_WRITE, CASE_READ = ("case:write",), ("case:read",)
ADMIN, READ = ("meeting:admin",), ("meeting:read",)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.json
    return response.json


def test_signals_to_per_person_outcomes_with_everyone_told(gateway_app: Flask,
                                                            http: FlaskClient) -> None:
    def as_(partner: str, scopes: tuple[str, ...]) -> dict[str, str]:
        return token(gateway_app, partner, scopes)

    def told(partner: str) -> list[str]:
        items = _ok(http.get("/v1/inbox", headers=as_(partner, INBOX)))["items"]
        return [i["type"] for i in items if i["type"] != "exchange.delivery"]

    # Signals about a victim and an offender reach the RIEC, which builds a case.
    signal = _ok(http.post("/v1/exchanges", headers=as_(VLAARDINGEN, WRITE), json=exchange_body(
        subjects=[{"ref": "eva", "role": "slachtoffer", "identifiers": EVA},
                  {"ref": "pieter", "role": "dader", "identifiers": PIETER}],
        items=[item("uitbuitingssignalen", "eva", indicators=["geen-id-papieren"]),
               item("huisvesting", "pieter", overbewoning=True)])), 201)["id"]
    delivered = _ok(http.get("/v1/inbox", headers=as_(RIEC, INBOX)))["items"]
    pseudonym = {s["ref"]: s["pseudonym"] for d in delivered
                 if d.get("exchange_id") == signal for s in d["subjects"]}
    case = _ok(http.post("/v1/cases", headers=as_(RIEC, CASE_WRITE), json={
        "covenant": "riec-rr-mensenhandel", "signals": [signal],
        "subjects": [{"pseudonym": pseudonym["eva"], "role": "slachtoffer"},
                     {"pseudonym": pseudonym["pieter"], "role": "dader"}],
        "case_manager": VLAARDINGEN}), 201)
    path = f"/v1/cases/{case['id']}"
    for step in ("dossiervorming", "weging_kwalificatie"):
        _ok(http.post(f"{path}/transitions", headers=as_(RIEC, CASE_WRITE), json={"to": step}))
    assert told(VLAARDINGEN) == ["case.manager_appointed"]

    # A meeting called with the police only: the case manager is invited with its case.
    meeting = _ok(http.post("/v1/meetings", headers=as_(RIEC, ADMIN), json={
        "covenant": "riec-rr-mensenhandel", "date": MEETING_DAY,
        "participants": [RIEC, POLITIE]}), 201)["id"]
    item_id = _ok(http.post(f"/v1/meetings/{meeting}/items", headers=as_(RIEC, ADMIN), json={
        "case_id": case["id"], "title": "Casus Maasoever", "question": "Welke aanpak?",
        "proposed_decision": "Opsporing voor de dader"}), 201)["id"]
    published = _ok(http.post(f"/v1/meetings/{meeting}/publish", headers=as_(RIEC, ADMIN)))
    assert VLAARDINGEN in published["notified"]

    # The outcome is weighed per person: an intervention for the offender alone.
    outcome = _ok(http.post(f"/v1/meetings/{meeting}/items/{item_id}/outcome",
                            headers=as_(RIEC, ADMIN), json={
        "approach": "strafrechtelijk", "assigned_partner": POLITIE,
        "intervention": "opsporingsonderzoek", "subjects": [pseudonym["pieter"]]}))
    offender = next(s["alias"] for s in case["subjects"] if s["role"] == "dader")
    assert outcome["outcome"]["persons"] == [offender]
    [offered] = [i for i in _ok(http.get("/v1/inbox", headers=as_(POLITIE, INBOX)))["items"]
                 if i["type"] == "case.intervention_offered"]
    assert [p["alias"] for p in offered["persons"]] == [offender]

    # The police accepts and plans it itself.
    _ok(http.post(f"{path}/assignments/{offered['assignment_id']}/decision",
                  headers=as_(POLITIE, CASE_WRITE), json={
        "accept": True, "priority": "urgent", "planned_start": "2030-02-01"}))
    plan = _ok(http.get(path, headers=as_(VLAARDINGEN, CASE_READ)))["plan"]
    by_person = {p["alias"]: p["interventions"] for p in plan["persons"]}
    assert [(i["partner"], i["priority"], i["planned_start"]) for i in by_person[offender]
            ] == [(POLITIE, "urgent", "2030-02-01")]
    assert [i for alias, i in by_person.items() if alias != offender] == [[]]

    # Everyone was told, each in its own inbox; the case is on each one's work list.
    assert told(VLAARDINGEN) == ["case.manager_appointed", "agenda.published",
                                 "agenda.changed", "case.intervention_accepted"]
    assert told(POLITIE) == ["agenda.published", "case.intervention_offered",
                             "agenda.changed"]
    assert told(RIEC) == ["agenda.published", "agenda.changed", "case.intervention_accepted"]
    for partner, role in ((RIEC, "regie"), (VLAARDINGEN, "case_manager"), (POLITIE, "assigned")):
        listed = _ok(http.get("/v1/cases", query_string={"role": role},
                              headers=as_(partner, CASE_READ)))["items"]
        assert [c["id"] for c in listed] == [case["id"]]
