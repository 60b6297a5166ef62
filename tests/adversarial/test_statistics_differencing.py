"""A partner with statistics:read tries to learn a suppressed count by differencing answers.

The attack: ask for two periods (or the same period before and after sending signals of its
own) and subtract. It fails because every number handed out is one cell (one month, one value)
that is at least the minimum, the same in every answer; there is no total to subtract from.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from gateway.statistics.services import MINIMUM_CELL
from tests.conftest import TEST_TODAY
from tests.factories import GGD, RIEC, VLAARDINGEN, bearer, exchange_body


def _report(app: Flask, http: FlaskClient, **query: str) -> dict[str, Any]:
    response = http.get("/v1/statistics", query_string=query,
                        headers=bearer(app, RIEC, ("statistics:read",)))
    assert response.status_code == 200
    tables: dict[str, Any] = response.json["tables"]
    return tables


def _numbers(tables: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    return {(name, cell["month"], cell["value"]): cell["count"]
            for name, cells in tables.items() for cell in cells}


def test_differencing_periods_or_own_signals_reveals_no_suppressed_cell(
    gateway_app: Flask, http: FlaskClient
) -> None:
    for sender, count in ((VLAARDINGEN, 6), (GGD, 2)):  # GGD's two signals must stay hidden
        for _ in range(count):
            http.post("/v1/exchanges", json=exchange_body(), headers=bearer(gateway_app, sender))
    month = f"{TEST_TODAY.year:04d}-{TEST_TODAY.month:02d}"
    year = TEST_TODAY.year
    answers = [_report(gateway_app, http),
               _report(gateway_app, http, **{"from": month, "to": month}),
               _report(gateway_app, http, **{"from": f"{year - 1}-01", "to": month})]

    numbers = [_numbers(tables) for tables in answers]
    for key in set().union(*numbers):
        values = {n[key] for n in numbers if key in n}
        assert len(values) == 1, key  # a cell is the same in every answer
    everything = {k: v for n in numbers for k, v in n.items()}
    assert all(v == f"<{MINIMUM_CELL}" or v >= MINIMUM_CELL for v in everything.values())
    assert everything[("signals_by_sender", month, GGD)] == f"<{MINIMUM_CELL}"
    assert everything[("signals_by_step", month, "detectie")] == 8
