"""A grant requiring the case manager shapes the agenda as it shapes an exchange: the case's
case manager sees the item at the grant's level, and no other partner does, assigned or not.

The test grant is put at evaluatie, where the demo covenant gives the police nothing beyond
the title (evaluatie-terugkoppeling is aggregate), so for the police the grant alone would make
the difference. (The demo covenant's own evaluatie-casusregie reaches municipalities only.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.settings import Settings
from tests.cases.factories import (
    case_manager_grant,
    create_case,
    put_case_at,
    settings_with_grants,
    token,
)
from tests.factories import POLITIE, RIEC, SCHIEDAM, VLAARDINGEN
from tests.meetings.factories import ADMIN, add_item, agenda, create_meeting, publish

PARTICIPANTS = [POLITIE, RIEC, SCHIEDAM, VLAARDINGEN]
CASE_MANAGER_GRANT = case_manager_grant("test-casusregie-evaluatie",
                                        [VLAARDINGEN, SCHIEDAM, POLITIE], "evaluatie")


@pytest.fixture
def settings(tmp_path: Path, test_policies_path: Path) -> Settings:
    """The demo covenant with one grant at evaluatie for the case manager only."""
    return settings_with_grants(tmp_path, test_policies_path, CASE_MANAGER_GRANT)


def _meeting(app: Flask, http: FlaskClient, assigned: str) -> str:
    """A meeting with one item about a case Vlaardingen manages, at evaluatie, with an
    accepted intervention by ``assigned``."""
    case = create_case(app, http)
    put_case_at(app, case["id"], "evaluatie", assigned=assigned)
    meeting_id = create_meeting(app, http, PARTICIPANTS)
    add_item(app, http, meeting_id, case["id"], "Evaluatie huisbezoek")
    return meeting_id


def _routed(app: Flask, http: FlaskClient, assigned: str) -> dict[str, dict[str, str]]:
    """Participant -> view and reason of that item, from the routing preview."""
    meeting_id = _meeting(app, http, assigned)
    response = http.get(f"/v1/meetings/{meeting_id}/routing", headers=token(app, RIEC, ADMIN))
    assert response.status_code == 200, response.json
    views: dict[str, dict[str, str]] = response.json["items"][0]["views"]
    return views


def test_only_the_case_manager_sees_what_its_grant_gives(gateway_app: Flask,
                                                        http: FlaskClient) -> None:
    views = _routed(gateway_app, http, assigned=POLITIE)

    assert views[VLAARDINGEN] == {"view": "pseudonymised", "reason": "involved-pseudonym"}
    assert views[POLITIE] == {"view": "title_only", "reason": "involved-without-grant"}
    assert views[SCHIEDAM] == {"view": "title_only", "reason": "not-involved"}
    assert views[RIEC] == {"view": "full", "reason": "regie"}


def test_the_case_manager_that_is_also_assigned_still_gets_the_grant(
    gateway_app: Flask, http: FlaskClient
) -> None:
    views = _routed(gateway_app, http, assigned=VLAARDINGEN)

    assert views[VLAARDINGEN] == {"view": "pseudonymised", "reason": "involved-pseudonym"}
    assert views[POLITIE] == {"view": "title_only", "reason": "not-involved"}


def test_the_published_agenda_carries_the_details_to_the_case_manager_only(
    gateway_app: Flask, http: FlaskClient
) -> None:
    meeting_id = _meeting(gateway_app, http, assigned=POLITIE)
    publish(gateway_app, http, meeting_id)

    items: dict[str, Any] = {p: agenda(gateway_app, http, meeting_id, p).json["items"]
                             for p in (VLAARDINGEN, POLITIE)}
    assert items[VLAARDINGEN][0]["view"] == "pseudonymised"
    assert items[VLAARDINGEN][0]["step"] == "evaluatie"
    assert "question" in items[VLAARDINGEN][0]
    assert items[POLITIE][0]["view"] == "title_only"
    assert "question" not in items[POLITIE][0]
