"""Typed messages in ``GET /v1/inbox``: appointed case manager, interventions offered,
accepted and declined, agendas published and changed, deadlines passed; each to its own
recipient only, beside the deliveries, paged by one cursor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from gateway.clock import ManualClock
from tests.cases.factories import CASE_READ, CASE_WRITE, create_case, put_case_at, token
from tests.factories import POLITIE, RIEC, VLAARDINGEN
from tests.meetings.factories import add_item, agenda, create_meeting, publish

INBOX = ("inbox:read",)


def inbox(app: Flask, http: FlaskClient, partner: str, **query: str) -> dict[str, Any]:
    response = http.get("/v1/inbox", query_string=query, headers=token(app, partner, INBOX))
    assert response.status_code == 200, response.json
    page: dict[str, Any] = response.json
    return page


def messages(app: Flask, http: FlaskClient, partner: str, kind: str | None = None
             ) -> list[dict[str, Any]]:
    found = [i for i in inbox(app, http, partner, limit="200")["items"]
             if i["type"] != "exchange.delivery"]
    return [m for m in found if kind is None or m["type"] == kind]


def offer(app: Flask, http: FlaskClient, case: dict[str, Any], **extra: Any) -> Any:
    put_case_at(app, case["id"], "toewijzing_interventie")
    return http.post(f"/v1/cases/{case['id']}/assignments",
                     json={"partner": POLITIE, "intervention": "opsporingsonderzoek", **extra},
                     headers=token(app, RIEC, CASE_WRITE))


def test_the_case_manager_is_told_of_its_appointment(gateway_app: Flask,
                                                     http: FlaskClient) -> None:
    case = create_case(gateway_app, http)

    [told] = messages(gateway_app, http, VLAARDINGEN, "case.manager_appointed")
    assert told["case_id"] == case["id"]
    assert told["link"] == f"/werkruimte/casussen/{case['id']}"
    assert told["title"] == "U bent aangewezen als casusregisseur"
    assert messages(gateway_app, http, RIEC) == []
    assert messages(gateway_app, http, POLITIE) == []


def test_an_offered_intervention_names_its_persons_by_the_partners_own_pseudonyms(
        gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    riec_pseudonym = case["subjects"][0]["pseudonym"]

    offered = offer(gateway_app, http, case, subjects=[riec_pseudonym])

    assert offered.status_code == 201, offered.json
    [told] = messages(gateway_app, http, POLITIE, "case.intervention_offered")
    [person] = told["persons"]
    assert person["alias"] == case["subjects"][0]["alias"]
    assert person["pseudonym"] != riec_pseudonym
    assert told["intervention"] == "opsporingsonderzoek"
    assert messages(gateway_app, http, VLAARDINGEN, "case.intervention_offered") == []


def test_an_answer_is_told_to_regie_and_case_manager(gateway_app: Flask,
                                                     http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    assignment = offer(gateway_app, http, case).json

    answer = http.post(f"/v1/cases/{case['id']}/assignments/{assignment['id']}/decision",
                       json={"accept": False, "reason": "geen capaciteit"},
                       headers=token(gateway_app, POLITIE, CASE_WRITE))

    assert answer.status_code == 200, answer.json
    for partner in (RIEC, VLAARDINGEN):
        [told] = messages(gateway_app, http, partner, "case.intervention_declined")
        assert (told["assignment_id"], told["partner"]) == (assignment["id"], POLITIE)
    assert messages(gateway_app, http, POLITIE, "case.intervention_declined") == []


def test_a_published_agenda_is_readable_from_the_inbox_and_a_change_is_told(
        gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    meeting = create_meeting(gateway_app, http, [RIEC, VLAARDINGEN])
    add_item(gateway_app, http, meeting, case["id"], "Casus Maasoever")
    publish(gateway_app, http, meeting)
    add_item(gateway_app, http, meeting, create_case(gateway_app, http)["id"], "Casus Delta")

    [first] = messages(gateway_app, http, VLAARDINGEN, "agenda.published")
    [changed] = messages(gateway_app, http, VLAARDINGEN, "agenda.changed")
    assert first["meeting_id"] == meeting
    assert [i["title"] for i in first["agenda"]["items"]] == ["Casus Maasoever"]
    assert changed["agenda"] == agenda(gateway_app, http, meeting, VLAARDINGEN).json
    assert changed["version"] == 2


def test_a_passed_deadline_is_told_once_to_regie_and_case_manager(
        gateway_app: Flask, http: FlaskClient, clock: ManualClock) -> None:
    case = create_case(gateway_app, http)
    container = gateway_app.extensions["ketenpoort"]

    assert container.cases.notify_overdue() == 0
    clock.advance(timedelta(days=15))  # detectie has 14 days in the demo covenant
    assert container.cases.notify_overdue() == 1
    assert container.cases.notify_overdue() == 0
    gateway_app.extensions.pop("test_tokens", None)

    for partner in (RIEC, VLAARDINGEN):
        [told] = messages(gateway_app, http, partner, "case.deadline_passed")
        assert (told["case_id"], told["step"]) == (case["id"], "detectie")
    assert messages(gateway_app, http, POLITIE) == []


def test_deliveries_and_messages_page_through_one_cursor(
        gateway_app: Flask, http: FlaskClient, clock: ManualClock) -> None:
    create_case(gateway_app, http, people=1)  # a signal delivered to the RIEC
    create_case(gateway_app, http, people=1)
    clock.advance(timedelta(days=15))
    gateway_app.extensions["ketenpoort"].cases.notify_overdue()  # two messages to the RIEC
    gateway_app.extensions.pop("test_tokens", None)
    create_case(gateway_app, http, people=1)
    everything = inbox(gateway_app, http, RIEC, limit="200")["items"]

    for size in ("1", "2"):
        seen: list[str] = []
        page = inbox(gateway_app, http, RIEC, limit=size)
        while True:
            seen += [i["id"] for i in page["items"]]
            if page["next_cursor"] is None:
                break
            page = inbox(gateway_app, http, RIEC, limit=size, cursor=page["next_cursor"])
        assert seen == [i["id"] for i in everything]
    assert [i["type"] for i in everything].count("exchange.delivery") == 3
    assert [i["type"] for i in everything].count("case.deadline_passed") == 2


def test_a_message_is_acknowledged_by_its_recipient_only(gateway_app: Flask,
                                                         http: FlaskClient) -> None:
    create_case(gateway_app, http)
    [told] = messages(gateway_app, http, VLAARDINGEN)

    stranger = http.post(f"/v1/inbox/{told['id']}/ack", headers=token(gateway_app, RIEC, INBOX))
    owner = http.post(f"/v1/inbox/{told['id']}/ack",
                      headers=token(gateway_app, VLAARDINGEN, INBOX))

    assert stranger.status_code == 404
    assert owner.status_code == 200
    assert inbox(gateway_app, http, VLAARDINGEN, status="pending")["items"] == []


def test_the_case_view_shows_the_plan_per_person(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    first, second = case["subjects"]
    assignment = offer(gateway_app, http, case, subjects=[second["pseudonym"]]).json

    accepted = http.post(
        f"/v1/cases/{case['id']}/assignments/{assignment['id']}/decision",
        json={"accept": True, "priority": "hoog", "planned_start": "2030-03-01",
              "planned_end": "2030-04-01"}, headers=token(gateway_app, POLITIE, CASE_WRITE))
    view = http.get(f"/v1/cases/{case['id']}", headers=token(gateway_app, RIEC, CASE_READ)).json

    assert accepted.status_code == 200, accepted.json
    assert (accepted.json["priority"], accepted.json["planned_start"]) == ("hoog", "2030-03-01")
    persons = {p["alias"]: p["interventions"] for p in view["plan"]["persons"]}
    assert persons[first["alias"]] == []
    assert [(i["partner"], i["priority"], i["planned_end"]) for i in persons[second["alias"]]
            ] == [(POLITIE, "hoog", "2030-04-01")]
    assert view["plan"]["case"] == []
    [told] = messages(gateway_app, http, VLAARDINGEN, "case.intervention_accepted")
    assert told["priority"] == "hoog"
    assert "pseudonym" not in told["persons"][0]
