"""A grant can require the case manager relation, as it can require an assignment: an
exchange naming a case reaches the case's case manager under it, and no other municipality."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.settings import Settings
from tests.cases.factories import case_manager_grant, create_case, settings_with_grants, token
from tests.factories import RIEC, SCHIEDAM, VLAARDINGEN, exchange_body, item

CASE_MANAGER_GRANT = case_manager_grant("test-casusregie", [VLAARDINGEN, SCHIEDAM], "detectie")


@pytest.fixture
def settings(tmp_path: Path, test_policies_path: Path) -> Settings:
    """The demo covenant with one grant for the case manager only."""
    return settings_with_grants(tmp_path, test_policies_path, CASE_MANAGER_GRANT)


def test_only_the_case_manager_receives_what_requires_it(gateway_app: Flask,
                                                         http: FlaskClient) -> None:
    case = create_case(gateway_app, http)  # Vlaardingen manages it
    body = exchange_body(case_id=case["id"], recipients=[VLAARDINGEN, SCHIEDAM],
                         items=[item("interventie", aanpak="huisbezoek")])
    del body["process_step"]

    response = http.post("/v1/exchanges", json=body,
                         headers=token(gateway_app, RIEC, ("exchange:write",)))

    assert response.status_code == 201, response.json
    by_recipient = {d["recipient"]: d for d in response.json["decisions"]}
    assert by_recipient[VLAARDINGEN]["grants"]["interventie"] == ["test-casusregie"]
    assert by_recipient[SCHIEDAM]["allowed"] is False
    assert {r["code"] for r in by_recipient[SCHIEDAM]["reasons"]} == {
        "recipient-not-case-manager"}
