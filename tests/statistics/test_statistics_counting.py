"""The database counts the cells: over fourteen months of stored signals, cases and
interventions (three daylight-saving changes, a new year, moments a second either side of
every month's start), every table equals the count made in Python, month by month in the
Dutch zone, as the statistics were counted before."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.clock import DUTCH_ZONE
from gateway.statistics.services import MINIMUM_CELL, SUPPRESSED
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN, bearer
from tests.statistics.factories import stored_assignment, stored_case, stored_signal

FIRST, LAST = "2024-10", "2025-11"
# A month either side of the period: rows there must count nowhere.
EARLIEST, LATEST = datetime(2024, 9, 1, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC)
SENDERS = (VLAARDINGEN, POLITIE, GGD)
STEPS = ("detectie", "dossiervorming", "interventie")
FORMS = (None, "onbekend", "arbeidsuitbuiting", "seksuele_uitbuiting")
CATEGORIES = ("uitbuitingssignalen", "huisvesting", "zorg")
STATES = ("offered", "accepted", "declined")


def _month_starts() -> list[datetime]:
    """The UTC moment each Dutch month from EARLIEST to LATEST begins."""
    starts = []
    day = date(EARLIEST.year, EARLIEST.month, 1)
    while day <= LATEST.date():
        starts.append(datetime(day.year, day.month, 1, tzinfo=DUTCH_ZONE).astimezone(UTC))
        day = (day + timedelta(days=32)).replace(day=1)
    return starts


def _moments(chance: random.Random, count: int) -> list[datetime]:
    """``count`` moments spread over the span, and a second before, at and after each month's
    start."""
    span = (LATEST - EARLIEST).total_seconds()
    spread = [EARLIEST + timedelta(seconds=chance.uniform(0, span)) for _ in range(count)]
    edges = [start + timedelta(seconds=s) for start in _month_starts() for s in (-1, 0, 1)]
    return spread + edges


def _counted_in_python(rows: Iterable[tuple[datetime | None, Iterable[str]]]
                       ) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str]] = Counter()
    for moment, values in rows:
        if moment is None:
            continue
        local = moment.astimezone(DUTCH_ZONE)
        month = f"{local.year:04d}-{local.month:02d}"
        if FIRST <= month <= LAST:
            counts.update((month, value) for value in values)
    return [{"month": month, "value": value,
             "count": count if count >= MINIMUM_CELL else SUPPRESSED}
            for (month, value), count in sorted(counts.items())]


def test_the_database_counts_each_cell_as_python_would(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    chance = random.Random(20241027)  # noqa: S311  # a repeatable spread, no secret
    signals = [stored_signal(
        moment, sender=chance.choice(SENDERS), process_step=chance.choice(STEPS),
        exploitation_form=chance.choice(FORMS),
        # Two recipients may be delivered the same category: the signal counts once for it.
        delivered=tuple(tuple(chance.sample(CATEGORIES, chance.randint(0, 2)))
                        for _ in range(chance.randint(1, 3))),
        status=chance.choice(("delivered",) * 9 + ("refused",)))
        for moment in _moments(chance, 600)]
    cases = [stored_case(moment, moment + timedelta(days=chance.randint(1, 90))
                         if chance.random() < 0.6 else None)
             for moment in _moments(chance, 150)]
    session.add_all(signals + cases)
    session.flush()
    assignments = [stored_assignment(chance.choice(cases), moment,
                                     partner=chance.choice(SENDERS), state=chance.choice(STATES))
                   for moment in _moments(chance, 300)]
    session.add_all(assignments)
    session.flush()

    response = http.get("/v1/statistics", query_string={"from": FIRST, "to": LAST},
                        headers=bearer(gateway_app, RIEC, ("statistics:read",)))

    assert response.status_code == 200, response.json
    tables = response.json["tables"]
    delivered = [s for s in signals if s.status == "delivered"]
    assert tables == {
        "signals_by_step": _counted_in_python((s.created_at, [s.process_step])
                                              for s in delivered),
        "signals_by_sender": _counted_in_python((s.created_at, [s.sender]) for s in delivered),
        "signals_by_category": _counted_in_python(
            (s.created_at, {c for d in s.response_body["decisions"]
                            for c in d["categories_delivered"]}) for s in delivered),
        "signals_by_exploitation_form": _counted_in_python(
            (s.created_at, [s.exploitation_form or "onbekend"]) for s in delivered),
        "cases_opened": _counted_in_python((c.created_at, ["case"]) for c in cases),
        "cases_closed": _counted_in_python((c.closed_at, ["case"]) for c in cases),
        "interventions": _counted_in_python((a.offered_at, [f"{a.partner}:{a.state}"])
                                            for a in assignments),
    }
    # Enough rows that every table has cells, shown ones and suppressed ones among them.
    assert all(tables.values())
    assert {c["count"] == SUPPRESSED for cells in tables.values() for c in cells} == {True, False}
