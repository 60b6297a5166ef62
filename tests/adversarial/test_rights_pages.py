"""Attacks on the data subject's rights pages: identifiers that would end up in an address
(browser history, access log, Referer) or in the log, a restriction lifted by a form another
site posts, and identifiers slipped into the query string of a form."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.rights.models import RightsRequest
from tests.cases.factories import token
from tests.factories import EVA, RIEC, VLAARDINGEN
from tests.rights.factories import OFFICER as RIGHTS
from tests.rights.factories import person as subject
from tests.rights.factories import send
from tests.workspace.factories import form_token, signed_in_client
from tests.workspace.officer import REGIONAL_OFFICER, container_of
from tests.workspace.test_pages import audit_entries

ADDRESSES = re.compile(r'(?:href|action|src)="([^"]*)"')
BEPERKING = "/werkruimte/privacy/beperking"
# What names Eva: none of it may stand in an address, a redirect or the log.
IDENTIFYING = (EVA["bsn"], EVA["family_name"], EVA["birth_date"])
FORMS: list[tuple[str, dict[str, str]]] = [
    ("/werkruimte/privacy/inzage", {"format": "html"}),
    ("/werkruimte/privacy/inzage", {"format": "pdf"}),
    ("/werkruimte/privacy/rectificatie", {"new_given_names": "Eva Maria"}),
    (BEPERKING, {}),
    ("/werkruimte/privacy/bezwaar", {"covenant": "riec-rr-mensenhandel",
                                      "grounds": "bezwaar tegen de verstrekking"}),
]


def addresses_of(response: Any) -> list[str]:
    found = [response.request.url, response.headers.get("Location", "")]
    if response.mimetype == "text/html":
        found += ADDRESSES.findall(response.get_data(as_text=True))
    return found


def restriction_status(app: Flask, restriction_id: str) -> str:
    with transaction(container_of(app).session_factory) as session:
        row = session.get(RightsRequest, restriction_id)
        assert row is not None
        return row.status


@pytest.mark.parametrize(("path", "extra"), FORMS, ids=[f"{p}-{i}" for i, (p, _) in
                                                         enumerate(FORMS)])
def test_identifiers_never_reach_an_address_or_the_log(
        gateway_app: Flask, http: FlaskClient, path: str, extra: dict[str, str]) -> None:
    send(gateway_app, http, [subject("p1", EVA)], sender=RIEC)
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.post(path, data={"csrf_token": form_token(client, path), **EVA,
                                       **extra}, follow_redirects=True)

    assert response.status_code in (200, 201)
    responses = [*response.history, response]
    assert [a for r in responses for a in addresses_of(r)
            if any(value in a for value in IDENTIFYING)] == []
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    logged = json.dumps(audit_entries(gateway_app))
    assert [value for value in IDENTIFYING if value in logged] == []


@pytest.mark.parametrize("path", ["/werkruimte/privacy/inzage", BEPERKING])
def test_identifiers_in_the_query_string_are_ignored(gateway_app: Flask, path: str) -> None:
    """A link crafted with a BSN in it neither runs the request nor echoes the BSN."""
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    shown = client.get(f"{path}?bsn={EVA['bsn']}")
    posted = client.post(f"{path}?bsn={EVA['bsn']}",
                         data={"csrf_token": form_token(client, path), "format": "html"})

    assert shown.status_code == 200
    assert EVA["bsn"] not in shown.get_data(as_text=True)
    assert posted.status_code == 422
    assert [e["action"] for e in audit_entries(gateway_app)
            if e["action"] in ("audit.subject_access", "rights.restricted")] == []


@pytest.mark.parametrize("form_token_sent", [None, "forged-token"],
                         ids=["no-token", "forged-token"])
def test_a_lifting_forged_from_another_site_lifts_nothing(
        gateway_app: Flask, http: FlaskClient, form_token_sent: str | None) -> None:
    """CSRF: the officer's browser carries the session cookie to a form another site posts;
    without the page's own form token the restriction stays in force, nothing is audited."""
    placed = http.post("/v1/rights/restrictions", json={"identifiers": EVA},
                       headers=token(gateway_app, RIEC, RIGHTS))
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)
    client.get(BEPERKING)  # a form cookie exists, as in a real browser

    response = client.post(f"{BEPERKING}/{placed.json['id']}/opheffen",
                           data={} if form_token_sent is None else {"csrf_token": form_token_sent})

    assert response.status_code == 400
    assert restriction_status(gateway_app, placed.json["id"]) == "active"
    assert [e for e in audit_entries(gateway_app) if e["action"].startswith("rights.lift")] == []


def test_another_partners_restriction_id_is_as_absent_as_a_made_up_one(
        gateway_app: Flask, http: FlaskClient) -> None:
    """A partner's officer cannot learn whether an id is another partner's restriction."""
    placed = http.post("/v1/rights/restrictions", json={"identifiers": EVA},
                       headers=token(gateway_app, VLAARDINGEN, RIGHTS))
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)
    csrf = form_token(client, BEPERKING)

    foreign = client.post(f"{BEPERKING}/{placed.json['id']}/opheffen", data={"csrf_token": csrf})
    made_up = client.post(f"{BEPERKING}/00000000-0000-0000-0000-000000000000/opheffen",
                          data={"csrf_token": csrf})

    assert foreign.status_code == made_up.status_code == 404
    assert foreign.get_data() == made_up.get_data().replace(
        b"00000000-0000-0000-0000-000000000000", placed.json["id"].encode())
    with transaction(container_of(gateway_app).session_factory) as session:
        assert session.scalars(select(RightsRequest.status)).all() == ["active"]
