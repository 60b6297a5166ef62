"""Per-person interventions and the partner's own planning: what is refused, and why."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import CASE_WRITE, create_case, put_case_at, token
from tests.factories import POLITIE, RIEC


def _offer(app: Flask, http: FlaskClient, case: dict[str, Any], **extra: Any) -> Any:
    return http.post(f"/v1/cases/{case['id']}/assignments",
                     json={"partner": POLITIE, "intervention": "opsporing", **extra},
                     headers=token(app, RIEC, CASE_WRITE))


@pytest.fixture
def case(gateway_app: Flask, http: FlaskClient) -> dict[str, Any]:
    created = create_case(gateway_app, http)
    put_case_at(gateway_app, created["id"], "toewijzing_interventie")
    return created


def test_a_partner_may_hold_interventions_for_different_persons_but_not_twice_for_one(
        gateway_app: Flask, http: FlaskClient, case: dict[str, Any]) -> None:
    first, second = (s["pseudonym"] for s in case["subjects"])

    assert _offer(gateway_app, http, case, subjects=[first]).status_code == 201
    assert _offer(gateway_app, http, case, subjects=[second]).status_code == 201
    again = _offer(gateway_app, http, case, subjects=[second])
    whole = _offer(gateway_app, http, case)

    assert (again.status_code, again.json["reason"]) == (409, "already-assigned")
    assert (whole.status_code, whole.json["reason"]) == (409, "already-assigned")


@pytest.mark.parametrize(("subjects", "pointer"), [
    (["onbekend-pseudoniem"], "/subjects/0"), ([7], "/subjects/0"), ([], "/subjects"),
    ("p1", "/subjects"),
])
def test_a_person_not_in_the_case_is_a_422_naming_it(
        gateway_app: Flask, http: FlaskClient, case: dict[str, Any], subjects: Any,
        pointer: str) -> None:
    response = _offer(gateway_app, http, case, subjects=subjects)

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]


def test_another_partners_pseudonym_does_not_name_a_person(
        gateway_app: Flask, http: FlaskClient, case: dict[str, Any]) -> None:
    container = gateway_app.extensions["ketenpoort"]
    with container.session_factory() as session:
        subject = container.cases.subjects(session, [case["id"]])[case["id"]][0]
    police_pseudonym = container.pseudonymiser.pseudonym(subject.subject_id, POLITIE)

    response = _offer(gateway_app, http, case, subjects=[police_pseudonym])

    assert response.status_code == 422


@pytest.mark.parametrize(("answer", "pointer"), [
    ({"accept": False, "reason": "vol", "priority": "hoog"}, "/priority"),
    ({"accept": True, "planned_start": "2030-02-30"}, "/planned_start"),
    ({"accept": True, "planned_start": "2030-03-01", "planned_end": "2030-02-01"},
     "/planned_end"),
    ({"accept": True, "priority": "heel hoog"}, "/priority"),
])
def test_planning_is_the_accepting_partners_and_must_make_sense(
        gateway_app: Flask, http: FlaskClient, case: dict[str, Any], answer: dict[str, Any],
        pointer: str) -> None:
    assignment = _offer(gateway_app, http, case).json

    response = http.post(f"/v1/cases/{case['id']}/assignments/{assignment['id']}/decision",
                         json=answer, headers=token(gateway_app, POLITIE, CASE_WRITE))

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]
