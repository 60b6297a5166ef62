"""Counts of signals, cases and interventions per calendar month, safe to hand out.

Every number is one *cell*: a single month and a single value of a single dimension (a process
step, a sending partner, a category, a form of exploitation, an intervention's partner and
state). There are no totals, no margins and no filters but the months, so no two answers can be
subtracted to reveal a cell that was suppressed: a cell holds the same value in every answer
that contains it. A cell under the minimum size is shown as ``"<5"``; an empty cell is left
out. Months are Dutch calendar months. Each request is audited.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.cases.models import Case, CaseAssignment
from gateway.clock import DUTCH_ZONE, Clock
from gateway.db import transaction
from gateway.exchange.models import Exchange
from gateway.ports import AuditAppender, Caller
from gateway.problems import FieldError, validation_failed

MINIMUM_CELL = 5
SUPPRESSED = f"<{MINIMUM_CELL}"
MAX_MONTHS = 36
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUERY_FIELDS = frozenset({"from", "to"})

Cell = tuple[str, ...]  # (month, dimension value, ...)


@dataclass(frozen=True)
class Period:
    first: date  # the first day of the first month
    last: date  # the first day of the last month

    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1


@dataclass
class StatisticsService:
    session_factory: sessionmaker[Session]
    audit: AuditAppender
    clock: Clock

    def report(self, reader: Caller, query: Mapping[str, str]) -> dict[str, Any]:
        period = self._period(query)
        with transaction(self.session_factory) as session:
            tables = {
                "signals_by_step": _signals(session, period, lambda e: [e.process_step]),
                "signals_by_sender": _signals(session, period, lambda e: [e.sender]),
                "signals_by_category": _signals(session, period, _delivered_categories),
                "signals_by_exploitation_form": _signals(session, period, _exploitation_form),
                "cases_opened": _cases(session, period, Case.created_at),
                "cases_closed": _cases(session, period, Case.closed_at),
                "interventions": _interventions(session, period),
            }
            self.audit.append(session, {
                "action": "statistics.read", "actor": reader.actor(),
                "from": _month_text(period.first), "to": _month_text(period.last),
            })
        return {"from": _month_text(period.first), "to": _month_text(period.last),
                "minimum_cell": MINIMUM_CELL, "tables": tables}

    def _period(self, query: Mapping[str, str]) -> Period:
        errors = [FieldError(f"/{name}", "unknown parameter")
                  for name in sorted(set(query) - QUERY_FIELDS)]
        this_month = self.clock.today().replace(day=1)
        first, last = (_month(query, "from", errors, this_month.replace(month=1)),
                       _month(query, "to", errors, this_month))
        if not errors and first > last:
            errors.append(FieldError("/to", "must not lie before 'from'"))
        period = Period(first, last)
        if not errors and period.months() > MAX_MONTHS:
            errors.append(FieldError("/to", f"at most {MAX_MONTHS} months from 'from'"))
        if errors:
            raise validation_failed(errors)
        return period


def _month(query: Mapping[str, str], name: str, errors: list[FieldError], default: date
           ) -> date:
    raw = query.get(name)
    if raw is None:
        return default
    match = _MONTH.match(raw)
    if match is None:
        errors.append(FieldError(f"/{name}", "a month as YYYY-MM"))
        return default
    return date(int(match[1]), int(match[2]), 1)


def _month_text(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_of(moment: datetime) -> date:
    local = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(DUTCH_ZONE)
    return date(local.year, local.month, 1)


def _bounds(period: Period) -> tuple[datetime, datetime]:
    """UTC bounds a day wider than the period; the exact Dutch months are cut in
    :func:`_cells`."""
    year, month = divmod(period.last.year * 12 + period.last.month, 12)  # the month after
    after = datetime(year, month + 1, 1, tzinfo=UTC)
    start = datetime(period.first.year, period.first.month, 1, tzinfo=UTC)
    return start - timedelta(days=1), after + timedelta(days=1)


def _cells(period: Period, keyed: Iterable[tuple[datetime, Iterable[str]]]
           ) -> list[dict[str, Any]]:
    counts: Counter[Cell] = Counter()
    for moment, values in keyed:
        month = _month_of(moment)
        if period.first <= month <= period.last:
            for value in values:
                counts[(_month_text(month), value)] += 1
    return [{"month": month, "value": value,
             "count": count if count >= MINIMUM_CELL else SUPPRESSED}
            for (month, value), count in sorted(counts.items())]


def _signals(session: Session, period: Period, values: Any) -> list[dict[str, Any]]:
    start, end = _bounds(period)
    rows = session.scalars(select(Exchange).where(
        Exchange.status == "delivered", Exchange.created_at >= start, Exchange.created_at < end))
    return _cells(period, ((row.created_at, values(row)) for row in rows))


def _delivered_categories(exchange: Exchange) -> list[str]:
    return sorted({category for decision in exchange.response_body.get("decisions", [])
                   for category in decision.get("categories_delivered", [])})


def _exploitation_form(exchange: Exchange) -> list[str]:
    # Exchanges stored before forms were recorded are about an unknown form, as today's
    # signals that name none.
    return [exchange.exploitation_form or "onbekend"]


def _cases(session: Session, period: Period, column: Any) -> list[dict[str, Any]]:
    start, end = _bounds(period)
    moments = session.scalars(select(column).where(column >= start, column < end))
    return _cells(period, ((moment, ["case"]) for moment in moments))


def _interventions(session: Session, period: Period) -> list[dict[str, Any]]:
    start, end = _bounds(period)
    rows = session.execute(select(CaseAssignment.offered_at, CaseAssignment.partner,
                                  CaseAssignment.state)
                           .where(CaseAssignment.offered_at >= start,
                                  CaseAssignment.offered_at < end))
    return _cells(period, ((offered, [f"{partner}:{state}"]) for offered, partner, state in rows))
