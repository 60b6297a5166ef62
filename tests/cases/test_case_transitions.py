"""The transition matrix, who may make each move, and interventions: assign, decide, progress."""

from __future__ import annotations

import itertools

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.cases.interfaces import CASE_STEPS, NEEDS_ACCEPTED_ASSIGNMENT, TRANSITIONS
from tests.cases.factories import CASE_READ, CASE_WRITE, create_case, put_case_at, token
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN

ALL_MOVES = [(a, b) for a, b in itertools.product(CASE_STEPS, CASE_STEPS) if a != b]


def _move(app: Flask, http: FlaskClient, case_id: str, target: str, partner: str = RIEC) -> object:
    return http.post(f"/v1/cases/{case_id}/transitions", json={"to": target},
                     headers=token(app, partner, CASE_WRITE))


def _attempt(app: Flask, http: FlaskClient, source: str, target: str, partner: str
             ) -> tuple[int, str]:
    """Status and step-or-reason of one move, on a fresh case at ``source`` whose
    intervention is accepted, so the only thing deciding is the move and its maker."""
    case = create_case(app, http)
    put_case_at(app, case["id"], source, assigned=POLITIE)
    response = _move(app, http, case["id"], target, partner)
    body = response.json
    return response.status_code, body.get("step") or body.get("reason")


def test_the_regie_makes_exactly_the_allowed_moves(gateway_app: Flask, http: FlaskClient) -> None:
    # One app for the whole matrix: 42 moves, each on its own case.
    outcomes = {move: _attempt(gateway_app, http, *move, RIEC) for move in ALL_MOVES}

    expected = {
        (a, b): (200, b) if "regie" in TRANSITIONS.get((a, b), frozenset())
        else (409, "no-such-move")
        for a, b in ALL_MOVES
    }
    assert outcomes == expected


def test_the_case_manager_makes_only_its_own_moves(gateway_app: Flask, http: FlaskClient) -> None:
    outcomes = {move: _attempt(gateway_app, http, *move, VLAARDINGEN) for move in TRANSITIONS}

    expected = {
        (a, b): (200, b) if "case_manager" in who else (409, "not-permitted")
        for (a, b), who in TRANSITIONS.items()
    }
    assert outcomes == expected
    assert (200, "evaluatie") in outcomes.values()


def test_a_refused_move_says_which_moves_are_allowed(gateway_app: Flask, http: FlaskClient
                                                      ) -> None:
    case = create_case(gateway_app, http)

    response = _move(gateway_app, http, case["id"], "uitvoering")

    assert response.status_code == 409
    assert response.json["allowed_moves"] == ["dossiervorming", "gesloten"]


def test_the_assigned_partner_moves_nothing_and_strangers_see_no_case(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "uitvoering", assigned=POLITIE)

    by_assignee = _move(gateway_app, http, case["id"], "evaluatie", partner=POLITIE)
    by_stranger = _move(gateway_app, http, case["id"], "evaluatie", partner=GGD)

    assert by_assignee.status_code == 409
    assert by_assignee.json["reason"] == "not-permitted"
    assert by_stranger.status_code == 404


def test_uitvoering_needs_an_accepted_intervention(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "toewijzing_interventie", assigned=POLITIE,
                state="offered")

    response = _move(gateway_app, http, case["id"], "uitvoering")

    assert ("toewijzing_interventie", "uitvoering") in NEEDS_ACCEPTED_ASSIGNMENT
    assert response.status_code == 409
    assert response.json["reason"] == "no-accepted-intervention"


@pytest.mark.parametrize("body", [{}, {"to": "ergens"}, {"to": 3}, {"to": "evaluatie", "x": 1}])
def test_a_bad_move_request_names_the_field(
    gateway_app: Flask, http: FlaskClient, body: dict[str, object]
) -> None:
    case = create_case(gateway_app, http)

    response = http.post(f"/v1/cases/{case['id']}/transitions", json=body,
                         headers=token(gateway_app, RIEC, CASE_WRITE))

    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] in ("/to", "/x")


def test_closing_records_when(gateway_app: Flask, http: FlaskClient) -> None:
    case = create_case(gateway_app, http)

    response = _move(gateway_app, http, case["id"], "gesloten")

    assert response.json["step"] == "gesloten"
    assert response.json["closed_at"] is not None


def _assign(app: Flask, http: FlaskClient, case_id: str, partner: str) -> object:
    return http.post(f"/v1/cases/{case_id}/assignments",
                     json={"partner": partner, "intervention": "huisbezoek", "priority": "hoog"},
                     headers=token(app, RIEC, CASE_WRITE))


def test_interventions_are_assigned_only_at_toewijzing(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)

    response = _assign(gateway_app, http, case["id"], POLITIE)

    assert response.status_code == 409
    assert response.json["reason"] == "wrong-step"


def test_an_intervention_is_offered_declined_with_a_reason_accepted_and_followed(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "toewijzing_interventie")
    offered = _assign(gateway_app, http, case["id"], POLITIE)
    assert offered.status_code == 201, offered.json
    assert offered.json["state"] == "offered"
    decision = f"/v1/cases/{case['id']}/assignments/{offered.json['id']}/decision"
    politie = token(gateway_app, POLITIE, CASE_WRITE)

    no_reason = http.post(decision, json={"accept": False}, headers=politie)
    by_other = http.post(decision, json={"accept": True},
                         headers=token(gateway_app, VLAARDINGEN, CASE_WRITE))
    declined = http.post(decision, json={"accept": False, "reason": "geen capaciteit"},
                         headers=politie)
    again = http.post(decision, json={"accept": True}, headers=politie)

    assert no_reason.status_code == 422
    assert no_reason.json["errors"][0]["pointer"] == "/reason"
    assert by_other.status_code == 403
    assert declined.status_code == 200
    assert declined.json["state"] == "declined"
    assert declined.json["reason"] == "geen capaciteit"
    assert again.status_code == 404, "declining ended the police's involvement in the case"

    second = _assign(gateway_app, http, case["id"], VLAARDINGEN)
    accepted = http.post(f"/v1/cases/{case['id']}/assignments/{second.json['id']}/decision",
                         json={"accept": True},
                         headers=token(gateway_app, VLAARDINGEN, CASE_WRITE))
    progress = f"/v1/cases/{case['id']}/assignments/{second.json['id']}/progress"
    too_early = http.post(progress, json={"note": "gestart"},
                          headers=token(gateway_app, VLAARDINGEN, CASE_WRITE))
    moved = _move(gateway_app, http, case["id"], "uitvoering")
    reported = http.post(progress, json={"note": "pand gesloten (art. 174a)"},
                         headers=token(gateway_app, VLAARDINGEN, CASE_WRITE))

    assert accepted.json["state"] == "accepted"
    assert too_early.status_code == 409
    assert moved.status_code == 200
    assert reported.status_code == 201
    assert [p["note"] for p in reported.json["progress"]] == ["pand gesloten (art. 174a)"]

    as_politie = http.get(f"/v1/cases/{case['id']}", headers=token(gateway_app, POLITIE,
                                                                     CASE_READ))
    assert as_politie.status_code == 404, "the declined intervention ended the involvement"
    as_manager = http.get(f"/v1/cases/{case['id']}", headers=token(gateway_app, VLAARDINGEN,
                                                                     CASE_READ))
    # The municipality directs (case manager) and sees both interventions.
    assert [a["partner"] for a in as_manager.json["assignments"]] == [POLITIE, VLAARDINGEN]


def test_the_regie_cannot_assign_itself_or_an_outsider(
    gateway_app: Flask, http: FlaskClient
) -> None:
    case = create_case(gateway_app, http)
    put_case_at(gateway_app, case["id"], "toewijzing_interventie")

    to_itself = _assign(gateway_app, http, case["id"], RIEC)
    to_outsider = _assign(gateway_app, http, case["id"], "woningcorporatie-waterweg")

    assert to_itself.json["reason"] == "not-a-partner"
    assert to_outsider.json["reason"] == "not-a-partner"
