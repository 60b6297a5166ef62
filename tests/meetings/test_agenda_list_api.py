"""``GET /v1/meetings``: the agendas published to the caller, without their items."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import create_case, token
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN
from tests.meetings.factories import ADMIN, READ, add_item, create_meeting, publish

SECRET_TITLE = "Uitzendbureau Havenstraat 12"


def test_participants_list_the_published_agendas_and_see_no_item(
        gateway_app: Flask, http: FlaskClient) -> None:
    early = create_case(gateway_app, http)  # at detectie: hidden from the police
    meeting_id = create_meeting(gateway_app, http, [POLITIE, RIEC, VLAARDINGEN])
    unpublished = create_meeting(gateway_app, http, [POLITIE, RIEC])
    add_item(gateway_app, http, meeting_id, early["id"], SECRET_TITLE)
    publish(gateway_app, http, meeting_id)

    police = http.get("/v1/meetings", headers=token(gateway_app, POLITIE, READ))
    municipality = http.get("/v1/meetings", headers=token(gateway_app, VLAARDINGEN, READ))
    outsider = http.get("/v1/meetings", headers=token(gateway_app, GGD, READ))

    assert [a["meeting_id"] for a in police.json["items"]] == [meeting_id]
    assert police.json["items"][0]["items"] == 0
    assert SECRET_TITLE not in police.get_data(as_text=True)
    assert municipality.json["items"][0]["items"] == 1
    assert outsider.json["items"] == []
    assert unpublished not in police.get_data(as_text=True)


def test_listing_agendas_needs_meeting_read(gateway_app: Flask, http: FlaskClient) -> None:
    response = http.get("/v1/meetings", headers=token(gateway_app, RIEC, ADMIN))

    assert response.status_code == 403


def test_the_regie_lists_the_meetings_it_called_published_or_not(
        gateway_app: Flask, http: FlaskClient) -> None:
    first = create_meeting(gateway_app, http, [POLITIE, RIEC])
    second = create_meeting(gateway_app, http, [RIEC, VLAARDINGEN])
    publish(gateway_app, http, second)

    response = http.get("/v1/meetings/administered", headers=token(gateway_app, RIEC, ADMIN))
    other = http.get("/v1/meetings/administered", headers=token(gateway_app, POLITIE, ADMIN))

    assert response.status_code == 200
    listed = {m["id"]: m for m in response.json["items"]}
    assert set(listed) == {first, second}
    assert listed[first]["state"] == "draft"
    assert listed[first]["participants"] == [POLITIE, RIEC]
    assert other.json["items"] == []
