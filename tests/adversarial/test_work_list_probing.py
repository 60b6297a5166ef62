"""A curious partner probing work lists and inboxes: filters, forged cursors and other
partners' messages must tell it nothing about cases it takes no part in."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.models import AuditEntry
from gateway.db import transaction
from gateway.delivery.messages import InboxMessage
from tests.cases.factories import (
    CASE_READ,
    CASE_WRITE,
    case_body,
    create_case,
    riec_pseudonyms,
    send_signal,
    token,
)
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN

SCHIEDAM = "gemeente-schiedam"
INBOX = ("inbox:read",)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _schiedam_case(app: Flask, http: FlaskClient) -> dict[str, Any]:
    signal = send_signal(app, http, identifiers=(EVA,))
    body = {**case_body([signal], riec_pseudonyms(app, signal)), "case_manager": SCHIEDAM}
    response = http.post("/v1/cases", json=body, headers=token(app, RIEC, CASE_WRITE))
    assert response.status_code == 201, response.json
    case: dict[str, Any] = response.json
    return case


def _cases(app: Flask, http: FlaskClient, partner: str, **query: str) -> Any:
    return http.get("/v1/cases", query_string=query, headers=token(app, partner, CASE_READ))


def test_no_filter_combination_lets_a_partner_tell_another_partners_cases_exist(
        gateway_app: Flask, http: FlaskClient) -> None:
    """Vlaardingen's answers are the same whether or not Schiedam has a case."""
    own = create_case(gateway_app, http)
    queries = [{}, {"role": "regie"}, {"role": "case_manager"}, {"role": "assigned"},
               {"step": "detectie"}, {"overdue": "true"}, {"overdue": "false"},
               {"covenant": "riec-rr-mensenhandel"}, {"limit": "1"}]
    before = [_cases(gateway_app, http, VLAARDINGEN, **q).json for q in queries]

    _schiedam_case(gateway_app, http)
    after = [_cases(gateway_app, http, VLAARDINGEN, **q).json for q in queries]

    assert before == after
    assert {c["id"] for page in after for c in page["items"]} == {own["id"]}


@pytest.mark.parametrize("raw", [
    "c:9999-12-31T23:59:59+00:00|ffffffff-ffff-ffff-ffff-ffffffffffff",
    "c:2000-01-01T00:00:00+00:00|00000000-0000-0000-0000-000000000000",
])
def test_a_forged_cursor_moves_only_within_the_callers_own_cases(
        gateway_app: Flask, http: FlaskClient, raw: str) -> None:
    own = create_case(gateway_app, http)
    _schiedam_case(gateway_app, http)

    response = _cases(gateway_app, http, VLAARDINGEN, cursor=_cursor(raw))

    assert response.status_code == 200
    assert [c["id"] for c in response.json["items"]] in ([own["id"]], [])


def test_a_cursor_made_from_another_partners_case_shows_nothing_of_it(
        gateway_app: Flask, http: FlaskClient) -> None:
    theirs = _schiedam_case(gateway_app, http)
    own = create_case(gateway_app, http)
    created = _cases(gateway_app, http, SCHIEDAM).json["items"][0]["created_at"]

    response = _cases(gateway_app, http, VLAARDINGEN,
                      cursor=_cursor(f"c:{created}|{theirs['id']}"))

    assert response.status_code == 200
    assert theirs["id"] not in [c["id"] for c in response.json["items"]]
    assert {c["id"] for c in _cases(gateway_app, http, VLAARDINGEN).json["items"]} == {
        own["id"]}


@pytest.mark.parametrize("raw", ["i:0.0", "d:0", "i:0.999999", "i:-1.0", "i:1.x", "x:1.1"])
def test_a_forged_inbox_cursor_reads_only_the_callers_own_messages(
        gateway_app: Flask, http: FlaskClient, raw: str) -> None:
    create_case(gateway_app, http)  # a message for Vlaardingen, none for the police

    response = http.get("/v1/inbox", query_string={"cursor": _cursor(raw)},
                        headers=token(gateway_app, POLITIE, INBOX))

    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.json["items"] == []


def test_another_partners_messages_cannot_be_read_or_acknowledged(
        gateway_app: Flask, http: FlaskClient) -> None:
    create_case(gateway_app, http)
    own = http.get("/v1/inbox", headers=token(gateway_app, VLAARDINGEN, INBOX)).json["items"]
    [message] = [m for m in own if m["type"] == "case.manager_appointed"]

    for partner in (POLITIE, SCHIEDAM, RIEC):
        items = http.get("/v1/inbox", headers=token(gateway_app, partner, INBOX)).json["items"]
        assert message["id"] not in [i["id"] for i in items]
        acked = http.post(f"/v1/inbox/{message['id']}/ack",
                          headers=token(gateway_app, partner, INBOX))
        assert acked.status_code == 404


def test_messages_carry_no_identifiers_at_rest_or_in_the_audit(
        gateway_app: Flask, http: FlaskClient) -> None:
    create_case(gateway_app, http)
    http.get("/v1/inbox", headers=token(gateway_app, VLAARDINGEN, INBOX))

    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
        stored = json.dumps([row.content for row in session.scalars(select(InboxMessage))])
    [read] = [e for e in entries if e["action"] == "inbox.read"
              and e["actor"]["partner"] == VLAARDINGEN]
    assert len(read["message_ids"]) == 1
    text = json.dumps(entries) + stored
    assert not any(value in text for value in EVA.values())
    assert "casusregisseur" not in stored  # sealed at rest, like a delivery's content
