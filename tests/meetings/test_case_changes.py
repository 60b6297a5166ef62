"""Every case change narrows every upcoming agenda, in the transaction that makes the change.

Upcoming means held today or later on the product's clock; a meeting that was held keeps the
record of what its participants saw.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import create_case, put_case_at, token
from tests.conftest import TEST_TODAY
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN
from tests.meetings.factories import (
    ADMIN,
    add_item,
    agenda,
    create_meeting,
    publish,
    queued_views,
)

PARTICIPANTS = [RIEC, VLAARDINGEN, POLITIE, GGD]
CASE_WRITE = ("case:write",)
DAYS = {"yesterday": -1, "today": 0, "next-week": 7}


@pytest.fixture
def weighed_case(gateway_app: Flask, http: FlaskClient) -> dict[str, Any]:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "weging_kwalificatie")
    return case


@pytest.fixture
def meetings(gateway_app: Flask, http: FlaskClient, weighed_case: dict[str, Any]
             ) -> dict[str, dict[str, str]]:
    """Three published meetings discussing one case: held yesterday, today and next week."""
    found = {}
    for name, offset in DAYS.items():
        day = (TEST_TODAY + timedelta(days=offset)).isoformat()
        meeting_id = create_meeting(gateway_app, http, PARTICIPANTS, day=day)
        item = add_item(gateway_app, http, meeting_id, weighed_case["id"], "Nagelstudio")
        publish(gateway_app, http, meeting_id)
        found[name] = {"id": meeting_id, "item": item["id"]}
    return found


def _view_of(app: Flask, http: FlaskClient, meeting_id: str, partner: str) -> str:
    items = agenda(app, http, meeting_id, partner).json["items"]
    return "hidden" if not items else str(items[0]["view"])


def _outcome(app: Flask, http: FlaskClient, meeting: dict[str, str]) -> None:
    response = http.post(f"/v1/meetings/{meeting['id']}/items/{meeting['item']}/outcome",
                         json={"approach": "onderzoek", "assigned_partner": POLITIE},
                         headers=token(app, RIEC, ADMIN))
    assert response.status_code == 200, response.json


def _move_to_assignment(app: Flask, http: FlaskClient, case_id: str) -> None:
    response = http.post(f"/v1/cases/{case_id}/transitions",
                         json={"to": "toewijzing_interventie"},
                         headers=token(app, RIEC, CASE_WRITE))
    assert response.status_code == 200, response.json


def _offer(app: Flask, http: FlaskClient, case_id: str) -> str:
    _move_to_assignment(app, http, case_id)
    response = http.post(f"/v1/cases/{case_id}/assignments",
                         json={"partner": POLITIE, "intervention": "onderzoek"},
                         headers=token(app, RIEC, CASE_WRITE))
    assert response.status_code == 201, response.json
    assignment_id: str = response.json["id"]
    return assignment_id


def _decline(app: Flask, http: FlaskClient, case_id: str) -> None:
    assignment_id = _offer(app, http, case_id)
    response = http.post(f"/v1/cases/{case_id}/assignments/{assignment_id}/decision",
                         json={"accept": False, "reason": "geen capaciteit"},
                         headers=token(app, POLITIE, CASE_WRITE))
    assert response.status_code == 200, response.json


Change = Callable[[Flask, FlaskClient, dict[str, Any], dict[str, dict[str, str]]], None]
CHANGES: dict[str, Change] = {
    "outcome-at-another-meeting": lambda app, http, case, meetings: _outcome(
        app, http, meetings["next-week"]),
    "move": lambda app, http, case, meetings: _move_to_assignment(app, http, case["id"]),
    "assignment": lambda app, http, case, meetings: _offer(app, http, case["id"]),
    "declined-assignment": lambda app, http, case, meetings: _decline(app, http, case["id"]),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_kind_of_case_change_reaches_every_upcoming_agenda(
    gateway_app: Flask, http: FlaskClient, weighed_case: dict[str, Any],
    meetings: dict[str, dict[str, str]], change: str,
) -> None:
    before = {name: {p: _view_of(gateway_app, http, m["id"], p) for p in PARTICIPANTS}
              for name, m in meetings.items()}

    CHANGES[change](gateway_app, http, weighed_case, meetings)

    after = {name: {p: _view_of(gateway_app, http, m["id"], p) for p in PARTICIPANTS}
             for name, m in meetings.items()}
    assert after["today"] == after["next-week"], "both upcoming meetings follow the case"
    assert after["today"] != before["today"], "the change altered what someone may see"
    assert after["yesterday"] == before["yesterday"], "a held meeting keeps its record"


def test_an_outcome_narrows_the_ggd_at_the_other_upcoming_meeting(
    gateway_app: Flask, http: FlaskClient, meetings: dict[str, dict[str, str]]
) -> None:
    assert _view_of(gateway_app, http, meetings["today"]["id"], GGD) == "pseudonymised"

    _outcome(gateway_app, http, meetings["next-week"])

    assert _view_of(gateway_app, http, meetings["today"]["id"], GGD) in ("title_only", "hidden")


def test_a_change_hidden_from_a_participant_leaves_its_versions_and_notifications_alone(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """A participant's sequence of versions must not count changes to items it cannot see."""
    shown = create_case(gateway_app, http)
    put_case_at(gateway_app, shown["id"], "weging_kwalificatie")
    meeting_id = create_meeting(gateway_app, http, PARTICIPANTS)
    add_item(gateway_app, http, meeting_id, shown["id"], "Nagelstudio")
    publish(gateway_app, http, meeting_id)
    queued_before = len(queued_views(gateway_app, POLITIE))

    for _ in range(3):  # cases at detectie: the police may not even know they exist
        add_item(gateway_app, http, meeting_id, create_case(gateway_app, http)["id"], "Geheim")

    assert agenda(gateway_app, http, meeting_id, POLITIE).json["version"] == 1
    assert len(queued_views(gateway_app, POLITIE)) == queued_before
    visible = create_case(gateway_app, http)
    put_case_at(gateway_app, visible["id"], "weging_kwalificatie")
    add_item(gateway_app, http, meeting_id, visible["id"], "Massagesalon")

    assert agenda(gateway_app, http, meeting_id, POLITIE).json["version"] == 2
    assert [m.payload["version"] for m in queued_views(gateway_app, POLITIE)] == [1, 2]
    municipality = agenda(gateway_app, http, meeting_id, VLAARDINGEN).json
    assert municipality["version"] == 5, "the case manager saw each title arrive"


def test_a_partner_that_declined_the_intervention_no_longer_reads_the_case(
    gateway_app: Flask, http: FlaskClient, weighed_case: dict[str, Any]
) -> None:
    case_path = f"/v1/cases/{weighed_case['id']}"
    assignment_id = _offer(gateway_app, http, weighed_case["id"])
    reader = token(gateway_app, POLITIE, ("case:read", "case:write"))
    assert http.get(case_path, headers=reader).status_code == 200

    http.post(f"{case_path}/assignments/{assignment_id}/decision",
              json={"accept": False, "reason": "geen capaciteit"}, headers=reader)

    gone = http.get(case_path, headers=reader)
    assert gone.status_code == 404
    absent = http.get("/v1/cases/0b7e7e4a-2d0c-4c1e-9a55-3e1f9d7a0c11", headers=reader)
    assert gone.json["type"] == absent.json["type"]
