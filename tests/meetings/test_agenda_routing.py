"""Routing, publishing and reading the agenda: each participant gets exactly its own view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.models import AuditEntry
from gateway.db import transaction
from tests.cases.factories import create_case, put_case_at, riec_pseudonyms, token
from tests.factories import GGD, POLITIE, RIEC, SCHIEDAM, VLAARDINGEN
from tests.meetings.factories import (
    ADMIN,
    MEETING_DAY,
    add_item,
    agenda,
    create_meeting,
    publish,
    queued_views,
)

PARTICIPANTS = [GGD, POLITIE, RIEC, VLAARDINGEN]
SECRET_TITLE = "Uitzendbureau Havenstraat 12"


@pytest.fixture
def meeting(gateway_app: Flask, http: FlaskClient) -> dict[str, Any]:
    """A meeting with a case still at detectie (only the RIEC and the case manager may know
    of it) and a case at weging_kwalificatie (every party weighs it, pseudonymised)."""
    early = create_case(gateway_app, http)
    weighed = create_case(gateway_app, http)
    put_case_at(gateway_app, weighed["id"], "weging_kwalificatie")
    meeting_id = create_meeting(gateway_app, http, PARTICIPANTS)
    secret = add_item(gateway_app, http, meeting_id, early["id"], SECRET_TITLE)
    open_item = add_item(gateway_app, http, meeting_id, weighed["id"], "Nagelstudio Westwijk")
    return {"id": meeting_id, "secret": secret, "open": open_item, "early": early,
            "weighed": weighed}


def test_the_routing_preview_shows_every_participant_every_item(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    response = http.get(f"/v1/meetings/{meeting['id']}/routing",
                        headers=token(gateway_app, RIEC, ADMIN))

    assert response.status_code == 200
    views = {item["title"]: {p: v["view"] for p, v in item["views"].items()}
             for item in response.json["items"]}
    assert views == {
        SECRET_TITLE: {RIEC: "full", VLAARDINGEN: "title_only", POLITIE: "hidden",
                       GGD: "hidden"},
        "Nagelstudio Westwijk": {RIEC: "full", VLAARDINGEN: "pseudonymised",
                                 POLITIE: "pseudonymised", GGD: "pseudonymised"},
    }
    reasons = response.json["items"][0]["views"]
    assert reasons[POLITIE]["reason"] == "no-grant"


def test_publishing_queues_each_participant_its_own_view(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    published = publish(gateway_app, http, meeting["id"])

    assert published == {"version": 1, "notified": sorted(PARTICIPANTS)}
    queued = queued_views(gateway_app)
    assert sorted(m.recipient for m in queued) == sorted(PARTICIPANTS)
    for message in queued:
        response = agenda(gateway_app, http, meeting["id"], message.recipient)
        assert response.status_code == 200
        assert response.json == message.payload
        assert message.payload["version"] == 1


@pytest.mark.parametrize("partner", [POLITIE, GGD])
def test_a_hidden_item_leaks_nothing_in_any_channel(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any], partner: str
) -> None:
    publish(gateway_app, http, meeting["id"])

    response = agenda(gateway_app, http, meeting["id"], partner)
    [queued] = queued_views(gateway_app, partner)

    assert [(i["number"], i["title"]) for i in response.json["items"]] == [
        (1, "Nagelstudio Westwijk")]
    for seen in (json.dumps(response.json), json.dumps(queued.payload)):
        assert meeting["secret"]["id"] not in seen
        assert meeting["early"]["id"] not in seen
        assert "Havenstraat" not in seen
        assert '"number": 2' not in seen


def test_title_only_shows_the_title_and_nothing_of_the_case(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    publish(gateway_app, http, meeting["id"])

    items = agenda(gateway_app, http, meeting["id"], VLAARDINGEN).json["items"]

    assert items[0] == {"number": 1, "id": meeting["secret"]["id"], "title": SECRET_TITLE,
                        "view": "title_only"}


def test_persons_appear_as_case_local_aliases_and_full_views_add_own_pseudonyms(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    publish(gateway_app, http, meeting["id"])

    as_politie = agenda(gateway_app, http, meeting["id"], POLITIE).json["items"][0]
    as_riec = agenda(gateway_app, http, meeting["id"], RIEC).json["items"][1]

    assert as_politie["view"] == "pseudonymised"
    assert as_politie["subjects"] == [{"alias": "Persoon A", "role": "slachtoffer"},
                                      {"alias": "Persoon B", "role": "dader"}]
    assert as_riec["view"] == "full"
    assert [s["pseudonym"] for s in as_riec["subjects"]] == [
        s["pseudonym"] for s in meeting["weighed"]["subjects"]]
    assert [s["pseudonym"] for s in as_riec["subjects"]] == riec_pseudonyms(
        gateway_app, meeting["weighed"]["signals"][0])


def test_a_new_version_notifies_only_participants_whose_view_changed(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    publish(gateway_app, http, meeting["id"])
    dossier = create_case(gateway_app, http)
    put_case_at(gateway_app, dossier["id"], "dossiervorming")

    added = add_item(gateway_app, http, meeting["id"], dossier["id"], "Kamerverhuur Oost")
    unchanged = publish(gateway_app, http, meeting["id"])

    assert added["published"] == {"version": 2, "notified": sorted([RIEC, VLAARDINGEN])}
    assert unchanged == {"version": 2, "notified": []}
    assert len(queued_views(gateway_app, POLITIE)) == 1
    assert len(queued_views(gateway_app, VLAARDINGEN)) == 2
    assert agenda(gateway_app, http, meeting["id"], POLITIE).json["version"] == 1
    vlaardingen = agenda(gateway_app, http, meeting["id"], VLAARDINGEN).json
    assert vlaardingen["version"] == 2
    assert [i["number"] for i in vlaardingen["items"]] == [1, 2, 3]


def test_an_outcome_moves_the_case_on_and_republishes(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    publish(gateway_app, http, meeting["id"])

    response = http.post(
        f"/v1/meetings/{meeting['id']}/items/{meeting['open']['id']}/outcome",
        json={"approach": "strafrechtelijk onderzoek", "assigned_partner": POLITIE,
              "intervention": "opsporingsonderzoek"},
        headers=token(gateway_app, RIEC, ADMIN))

    assert response.status_code == 200, response.json
    assert response.json["case_step"] == "toewijzing_interventie"
    assert POLITIE in response.json["published"]["notified"]
    politie_item = agenda(gateway_app, http, meeting["id"], POLITIE).json["items"][0]
    assert politie_item["view"] == "full"
    assert politie_item["assigned"] == [POLITIE]
    assert politie_item["outcome"] == {"approach": "strafrechtelijk onderzoek",
                                       "assigned_partner": POLITIE, "persons": []}
    case = http.get(f"/v1/cases/{meeting['weighed']['id']}",
                    headers=token(gateway_app, POLITIE, ("case:read",))).json
    assert [(a["partner"], a["state"]) for a in case["assignments"]] == [(POLITIE, "offered")]

    again = http.post(
        f"/v1/meetings/{meeting['id']}/items/{meeting['open']['id']}/outcome",
        json={"approach": "nogmaals"}, headers=token(gateway_app, RIEC, ADMIN))
    assert again.status_code == 409
    assert again.json["reason"] == "outcome-recorded"


def test_a_refused_case_move_refuses_the_outcome_and_changes_nothing(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    publish(gateway_app, http, meeting["id"])

    response = http.post(
        f"/v1/meetings/{meeting['id']}/items/{meeting['secret']['id']}/outcome",
        json={"approach": "direct uitvoeren", "move_to": "uitvoering"},
        headers=token(gateway_app, RIEC, ADMIN))

    assert response.status_code == 409
    assert response.json["reason"] == "no-such-move"
    routing = http.get(f"/v1/meetings/{meeting['id']}/routing",
                       headers=token(gateway_app, RIEC, ADMIN)).json
    assert routing["items"][0]["outcome"] is None
    assert routing["items"][0]["step"] == "detectie"


def test_an_outcome_waits_for_publication(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    response = http.post(
        f"/v1/meetings/{meeting['id']}/items/{meeting['open']['id']}/outcome",
        json={"approach": "x"}, headers=token(gateway_app, RIEC, ADMIN))

    assert response.status_code == 409
    assert response.json["reason"] == "not-published"


def test_no_agenda_before_publication_nor_for_the_uninvited(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    before = agenda(gateway_app, http, meeting["id"], POLITIE)
    publish(gateway_app, http, meeting["id"])
    uninvited = agenda(gateway_app, http, meeting["id"], "om-rotterdam")

    assert before.status_code == 404
    assert uninvited.status_code == 404


def test_another_partner_cannot_administer_the_riecs_meeting(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    headers = token(gateway_app, VLAARDINGEN, ADMIN)

    preview = http.get(f"/v1/meetings/{meeting['id']}/routing", headers=headers)
    published = http.post(f"/v1/meetings/{meeting['id']}/publish", headers=headers)
    created = http.post("/v1/meetings", json={"covenant": "riec-rr-mensenhandel",
                                              "date": MEETING_DAY, "participants": [RIEC]},
                        headers=headers)

    assert preview.status_code == 404
    assert published.status_code == 404
    assert created.status_code == 403
    assert queued_views(gateway_app) == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"covenant": "riec-rr-mensenhandel", "date": "3 december", "participants": [RIEC]},
         "/date"),
        ({"covenant": "riec-rr-mensenhandel", "date": MEETING_DAY,
          "participants": ["woningcorporatie-waterweg"]}, "/participants/0"),
        ({"covenant": "riec-rr-mensenhandel", "date": MEETING_DAY,
          "participants": [RIEC, RIEC]}, "/participants/1"),
        ({"covenant": "onbekend", "date": MEETING_DAY, "participants": [RIEC]}, "/covenant"),
        ({"date": MEETING_DAY, "participants": [RIEC]}, "/covenant"),
    ],
)
def test_bad_meeting_input_names_the_field(
    gateway_app: Flask, http: FlaskClient, body: dict[str, Any], pointer: str
) -> None:
    response = http.post("/v1/meetings", json=body, headers=token(gateway_app, RIEC, ADMIN))

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]


def test_an_item_must_name_a_case_of_the_regie(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    response = http.post(f"/v1/meetings/{meeting['id']}/items", json={
        "case_id": "0b7e7e4a-2d0c-4c1e-9a55-3e1f9d7a0c11", "title": "t", "question": "q",
        "proposed_decision": "p"}, headers=token(gateway_app, RIEC, ADMIN))
    missing = http.post(f"/v1/meetings/{meeting['id']}/items", json={"title": "t"},
                        headers=token(gateway_app, RIEC, ADMIN))

    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/case_id"
    assert {e["pointer"] for e in missing.json["errors"]} == {
        "/case_id", "/question", "/proposed_decision"}


def test_reading_the_agenda_is_audited(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    publish(gateway_app, http, meeting["id"])
    agenda(gateway_app, http, meeting["id"], POLITIE)

    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        events = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    reads = [e for e in events if e["action"] == "meeting.agenda_read"]
    assert [(r["actor"]["partner"], r["case_ids"]) for r in reads] == [
        (POLITIE, [meeting["weighed"]["id"]])]


def test_a_case_change_republishes_and_a_narrowed_view_reaches_the_participant(
    gateway_app: Flask, http: FlaskClient, meeting: dict[str, Any]
) -> None:
    publish(gateway_app, http, meeting["id"])
    http.post(f"/v1/meetings/{meeting['id']}/items/{meeting['open']['id']}/outcome",
              json={"approach": "onderzoek", "assigned_partner": POLITIE},
              headers=token(gateway_app, RIEC, ADMIN))
    case_path = f"/v1/cases/{meeting['weighed']['id']}"
    offer = http.get(case_path, headers=token(gateway_app, POLITIE, ("case:read",))
                     ).json["assignments"][0]
    assert agenda(gateway_app, http, meeting["id"], POLITIE).json["items"][0]["view"] == "full"
    queued_before = len(queued_views(gateway_app, POLITIE))

    declined = http.post(f"{case_path}/assignments/{offer['id']}/decision",
                         json={"accept": False, "reason": "geen capaciteit"},
                         headers=token(gateway_app, POLITIE, ("case:write",)))

    assert declined.status_code == 200
    narrowed = agenda(gateway_app, http, meeting["id"], POLITIE).json
    assert narrowed["items"][0]["view"] == "title_only"
    assert len(queued_views(gateway_app, POLITIE)) == queued_before + 1
    assert queued_views(gateway_app, POLITIE)[-1].payload == narrowed


def test_the_case_manager_follows_its_case_into_evaluatie(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """The demo covenant's evaluatie-casusregie: the case manager (Vlaardingen) sees the item
    pseudonymised at evaluatie, the assigned police and another municipality the title."""
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "evaluatie", assigned=POLITIE)
    meeting_id = create_meeting(gateway_app, http, [POLITIE, RIEC, SCHIEDAM, VLAARDINGEN])
    add_item(gateway_app, http, meeting_id, case["id"], "Evaluatie huisbezoek")

    response = http.get(f"/v1/meetings/{meeting_id}/routing",
                        headers=token(gateway_app, RIEC, ADMIN))

    views = {p: v["view"] for p, v in response.json["items"][0]["views"].items()}
    assert views == {RIEC: "full", VLAARDINGEN: "pseudonymised", POLITIE: "title_only",
                     SCHIEDAM: "title_only"}
