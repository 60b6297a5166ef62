"""GET /v1/statistics: cells per month, small ones suppressed, every request audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.clock import ManualClock
from tests.conftest import TEST_TODAY
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body

STATISTICS = ("statistics:read",)
THIS_MONTH = f"{TEST_TODAY.year:04d}-{TEST_TODAY.month:02d}"


def _signals(app: Flask, http: FlaskClient, count: int, **overrides: Any) -> None:
    for _ in range(count):
        sent = http.post("/v1/exchanges", json=exchange_body(**overrides),
                         headers=bearer(app, VLAARDINGEN))
        assert sent.status_code == 201, sent.json


def _report(app: Flask, http: FlaskClient, **query: str) -> dict[str, Any]:
    response = http.get("/v1/statistics", query_string=query, headers=bearer(app, RIEC, STATISTICS))
    assert response.status_code == 200, response.json
    report: dict[str, Any] = response.json
    return report


@pytest.mark.parametrize(("scopes", "status"), [
    (None, 401), (("audit:read",), 403), (("exchange:write", "inbox:read"), 403), (STATISTICS, 200),
])
def test_who_gets_in(
    gateway_app: Flask, http: FlaskClient, scopes: tuple[str, ...] | None, status: int
) -> None:
    headers = {} if scopes is None else bearer(gateway_app, RIEC, scopes)
    assert http.get("/v1/statistics", headers=headers).status_code == status


def test_a_cell_under_five_is_suppressed_and_five_is_shown(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _signals(gateway_app, http, 4)
    [four] = _report(gateway_app, http)["tables"]["signals_by_step"]
    assert four == {"month": THIS_MONTH, "value": "detectie", "count": "<5"}

    _signals(gateway_app, http, 1)
    tables = _report(gateway_app, http)["tables"]
    assert tables["signals_by_step"] == [{"month": THIS_MONTH, "value": "detectie", "count": 5}]
    assert tables["signals_by_sender"] == [{"month": THIS_MONTH, "value": VLAARDINGEN,
                                            "count": 5}]
    assert tables["signals_by_category"] == [{"month": THIS_MONTH,
                                              "value": "uitbuitingssignalen", "count": 5}]


def test_months_are_dutch_calendar_months(
    gateway_app: Flask, http: FlaskClient, clock: ManualClock
) -> None:
    first = TEST_TODAY.replace(day=1)
    # 23:30 UTC on the last day of the previous month is already this month in the Netherlands.
    clock.set(datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(minutes=30))
    _signals(gateway_app, http, 5)
    clock.set(datetime(first.year, first.month, 1, 9, tzinfo=UTC))

    assert _report(gateway_app, http)["tables"]["signals_by_step"][0]["month"] == THIS_MONTH


def test_every_request_is_audited(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _report(gateway_app, http, **{"from": THIS_MONTH, "to": THIS_MONTH})
    entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    [read] = [e for e in entries if e["action"] == "statistics.read"]
    assert (read["actor"]["partner"], read["from"], read["to"]) == (RIEC, THIS_MONTH, THIS_MONTH)


@pytest.mark.parametrize(("query", "pointer"), [
    ({"from": "2026-13"}, "/from"),
    ({"to": "december"}, "/to"),
    ({"from": "2026-05", "to": "2026-04"}, "/to"),
    ({"from": "2020-01", "to": "2026-01"}, "/to"),
    ({"partner": RIEC}, "/partner"),
])
def test_bad_queries_name_the_field_and_are_not_audited(
    gateway_app: Flask, http: FlaskClient, session: Session, query: dict[str, str], pointer: str
) -> None:
    response = http.get("/v1/statistics", query_string=query,
                        headers=bearer(gateway_app, RIEC, STATISTICS))
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]
    assert session.scalars(select(AuditEntry.id)).all() == []


def test_signals_are_counted_by_form_of_exploitation_under_the_minimum_cell_rule(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _signals(gateway_app, http, 5, exploitation_form="seksuele_uitbuiting")
    _signals(gateway_app, http, 2, exploitation_form="arbeidsuitbuiting")
    _signals(gateway_app, http, 1)

    table = _report(gateway_app, http)["tables"]["signals_by_exploitation_form"]

    assert table == [
        {"month": THIS_MONTH, "value": "arbeidsuitbuiting", "count": "<5"},
        {"month": THIS_MONTH, "value": "onbekend", "count": "<5"},
        {"month": THIS_MONTH, "value": "seksuele_uitbuiting", "count": 5},
    ]
