"""``GET /v1/cases`` as a work list: filters by role, step, overdue and covenant, paged with an
opaque cursor, and never a case the caller takes no part in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.clock import ManualClock
from tests.cases.factories import (
    CASE_READ,
    CASE_WRITE,
    case_body,
    create_case,
    put_case_at,
    riec_pseudonyms,
    send_signal,
    token,
)
from tests.factories import EVA, OUTSIDER, POLITIE, RIEC, VLAARDINGEN

SCHIEDAM = "gemeente-schiedam"


def advance(app: Flask, clock: ManualClock, days: int) -> None:
    """Move the product's clock; tokens issued before have expired by then."""
    clock.advance(timedelta(days=days))
    app.extensions.pop("test_tokens", None)


def work_list(app: Flask, http: FlaskClient, partner: str, **query: str) -> Any:
    response = http.get("/v1/cases", query_string=query, headers=token(app, partner, CASE_READ))
    assert response.status_code == 200, response.json
    return response.json


def listed(app: Flask, http: FlaskClient, partner: str, **query: str) -> list[str]:
    return [case["id"] for case in work_list(app, http, partner, **query)["items"]]


def managed_by(app: Flask, http: FlaskClient, manager: str) -> dict[str, Any]:
    signal = send_signal(app, http, identifiers=(EVA,))
    body = {**case_body([signal], riec_pseudonyms(app, signal)), "case_manager": manager}
    response = http.post("/v1/cases", json=body, headers=token(app, RIEC, CASE_WRITE))
    assert response.status_code == 201, response.json
    case: dict[str, Any] = response.json
    return case


def test_the_role_filter_narrows_to_the_cases_where_the_caller_holds_it(
        gateway_app: Flask, http: FlaskClient) -> None:
    managed, assigned = create_case(gateway_app, http), create_case(gateway_app, http)
    put_case_at(gateway_app, assigned["id"], "uitvoering", assigned=VLAARDINGEN)
    put_case_at(gateway_app, managed["id"], "dossiervorming")

    assert set(listed(gateway_app, http, VLAARDINGEN)) == {managed["id"], assigned["id"]}
    assert set(listed(gateway_app, http, VLAARDINGEN, role="case_manager")) == {
        managed["id"], assigned["id"]}
    assert listed(gateway_app, http, VLAARDINGEN, role="assigned") == [assigned["id"]]
    assert listed(gateway_app, http, VLAARDINGEN, role="regie") == []
    assert listed(gateway_app, http, VLAARDINGEN, step="dossiervorming") == [managed["id"]]
    assert set(listed(gateway_app, http, RIEC, covenant="riec-rr-mensenhandel")) == {
        managed["id"], assigned["id"]}
    assert listed(gateway_app, http, RIEC, covenant="zvh-rijnmond-zorg") == []


def test_a_partner_never_lists_a_case_it_takes_no_part_in_whatever_it_asks(
        gateway_app: Flask, http: FlaskClient) -> None:
    theirs = managed_by(gateway_app, http, SCHIEDAM)
    create_case(gateway_app, http)

    for query in ({}, {"role": "case_manager"}, {"role": "assigned"}, {"role": "regie"},
                  {"step": "detectie"}, {"overdue": "false"},
                  {"covenant": "riec-rr-mensenhandel"}):
        assert theirs["id"] not in listed(gateway_app, http, VLAARDINGEN, **query)
        assert listed(gateway_app, http, POLITIE, **query) == []
    assert listed(gateway_app, http, SCHIEDAM) == [theirs["id"]]


def test_pages_follow_the_cursor_through_every_case_once(gateway_app: Flask,
                                                          http: FlaskClient,
                                                          clock: ManualClock) -> None:
    created = []
    for _ in range(5):
        created.append(create_case(gateway_app, http, people=1)["id"])
        clock.advance(timedelta(minutes=1))

    seen: list[str] = []
    page = work_list(gateway_app, http, RIEC, limit="2")
    while True:
        assert len(page["items"]) <= 2
        seen += [case["id"] for case in page["items"]]
        if page["next_cursor"] is None:
            break
        page = work_list(gateway_app, http, RIEC, limit="2", cursor=page["next_cursor"])

    assert seen == list(reversed(created))


def test_a_case_past_its_step_term_is_overdue(gateway_app: Flask, http: FlaskClient,
                                              clock: ManualClock) -> None:
    # The demo covenant gives detectie 14 days.
    late = create_case(gateway_app, http)
    advance(gateway_app, clock, 10)
    fresh = create_case(gateway_app, http)
    advance(gateway_app, clock, 5)

    [item] = [c for c in work_list(gateway_app, http, VLAARDINGEN)["items"]
              if c["id"] == late["id"]]
    assert item["overdue"] is True
    assert item["due_at"].startswith((clock.now() - timedelta(days=1)).date().isoformat())
    assert listed(gateway_app, http, VLAARDINGEN, overdue="true") == [late["id"]]
    assert listed(gateway_app, http, VLAARDINGEN, overdue="false") == [fresh["id"]]
    read = http.get(f"/v1/cases/{late['id']}", headers=token(gateway_app, RIEC, CASE_READ))
    assert read.json["overdue"] is True


def test_a_move_starts_the_next_steps_term(gateway_app: Flask, http: FlaskClient,
                                           clock: ManualClock) -> None:
    case = create_case(gateway_app, http)
    advance(gateway_app, clock, 13)
    moved = http.post(f"/v1/cases/{case['id']}/transitions", json={"to": "dossiervorming"},
                      headers=token(gateway_app, RIEC, CASE_WRITE))
    advance(gateway_app, clock, 20)

    assert moved.status_code == 200, moved.json
    assert listed(gateway_app, http, RIEC, overdue="true") == []
    advance(gateway_app, clock, 9)
    assert listed(gateway_app, http, RIEC, overdue="true") == [case["id"]]


@pytest.mark.parametrize(("query", "pointer"), [
    ({"role": "owner"}, "/role"), ({"step": "afgerond"}, "/step"),
    ({"overdue": "yes"}, "/overdue"), ({"covenant": "Niet Geldig"}, "/covenant"),
    ({"limit": "0"}, "/limit"), ({"limit": "101"}, "/limit"), ({"cursor": "!!"}, "/cursor"),
    ({"cursor": "Yzpub3QtYS1kYXRlfHg"}, "/cursor"),
])
def test_a_bad_filter_is_a_422_naming_it(gateway_app: Flask, http: FlaskClient,
                                         query: dict[str, str], pointer: str) -> None:
    response = http.get("/v1/cases", query_string=query,
                        headers=token(gateway_app, RIEC, CASE_READ))

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]


@pytest.mark.parametrize(("partner", "scopes", "status"), [
    (None, (), 401), (RIEC, CASE_WRITE, 403), (VLAARDINGEN, ("inbox:read",), 403),
    (RIEC, CASE_READ, 200), (VLAARDINGEN, CASE_READ, 200), (POLITIE, CASE_READ, 200),
    (OUTSIDER, CASE_READ, 200),
])
def test_work_list_authorisation_matrix(gateway_app: Flask, http: FlaskClient,
                                        partner: str | None, scopes: tuple[str, ...],
                                        status: int) -> None:
    case = create_case(gateway_app, http)
    headers = {} if partner is None else token(gateway_app, partner, scopes)

    response = http.get("/v1/cases", headers=headers)

    assert response.status_code == status
    if status == 200:
        involved = partner in (RIEC, VLAARDINGEN)
        assert [c["id"] for c in response.json["items"]] == ([case["id"]] if involved else [])
