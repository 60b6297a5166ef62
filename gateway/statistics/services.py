"""Counts of signals, cases and interventions per calendar month, safe to hand out.

Every number is one *cell*: a single month and a single value of a single dimension (a process
step, a sending partner, a category, a form of exploitation, an intervention's partner and
state). There are no totals, no margins and no filters but the months, so no two answers can be
subtracted to reveal a cell that was suppressed: a cell holds the same value in every answer
that contains it. A cell under the minimum size is shown as ``"<5"``; an empty cell is left
out. Months are Dutch calendar months. Each request is audited.

The database counts (``GROUP BY``), so a report reads one row per cell, not one per signal;
it is told each month's UTC bounds, as SQLite knows no time zones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    case,
    column,
    func,
    join,
    literal,
    select,
    true,
)
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
                "signals_by_step": _signals(session, period, Exchange.process_step),
                "signals_by_sender": _signals(session, period, Exchange.sender),
                "signals_by_category": _signals_by_category(session, period),
                "signals_by_exploitation_form": _signals(session, period, _exploitation_form()),
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


def _month_start(day: date) -> datetime:
    """The UTC moment the Dutch calendar month of ``day`` begins (midnight is never in a
    daylight-saving gap or overlap in the Netherlands)."""
    return datetime(day.year, day.month, 1, tzinfo=DUTCH_ZONE).astimezone(UTC)


def _next_month(day: date) -> date:
    year, month = divmod(day.year * 12 + day.month, 12)
    return date(year, month + 1, 1)


def _dutch_month(period: Period, moment: Any) -> tuple[ColumnElement[str], ColumnElement[bool]]:
    """The Dutch calendar month ``moment`` falls in, as ``YYYY-MM``, and whether it falls in the
    period. The months' UTC bounds come from Python's zone data and the database only compares
    (SQLite knows no time zones)."""
    firsts = [period.first]
    while firsts[-1] < period.last:
        firsts.append(_next_month(firsts[-1]))
    # The first month whose end lies after the moment is the moment's month.
    month = case(*((moment < _month_start(_next_month(first)), _month_text(first))
                   for first in firsts))
    after = _month_start(_next_month(period.last))
    return month, and_(moment >= _month_start(period.first), moment < after)


def _counted(session: Session, period: Period, moment: Any, value: SQLColumnExpression[str],
             rows: Select[Any]) -> list[dict[str, Any]]:
    """The cells of ``rows``, counted by the database: one per (month, value), in order.

    ``rows`` selects the id of each thing counted; a thing that has a value twice (a category
    two recipients were delivered) counts once in its cell."""
    month, within = _dutch_month(period, moment)
    counted = rows.add_columns(month.label("month"), value.label("value")).where(within)
    cells = counted.distinct().subquery()
    found = session.execute(select(cells.c.month, cells.c.value, func.count())
                            .group_by(cells.c.month, cells.c.value))
    # Sorted here, not by the database: PostgreSQL's collation orders text differently.
    return [{"month": month, "value": value,
             "count": count if count >= MINIMUM_CELL else SUPPRESSED}
            for month, value, count in sorted(found.all())]


def _signals(session: Session, period: Period, value: SQLColumnExpression[str]
             ) -> list[dict[str, Any]]:
    return _counted(session, period, Exchange.created_at, value, _delivered_signals())


def _delivered_signals() -> Select[Any]:
    return select(Exchange.id).where(Exchange.status == "delivered")


def _exploitation_form() -> ColumnElement[str]:
    # Exchanges stored before forms were recorded are about an unknown form, as today's
    # signals that name none.
    return func.coalesce(func.nullif(Exchange.exploitation_form, ""), "onbekend")


def _signals_by_category(session: Session, period: Period) -> list[dict[str, Any]]:
    """Each category a signal delivered to any recipient counts the signal once."""
    if session.get_bind().dialect.name == "postgresql":
        decision = func.json_array_elements(Exchange.response_body["decisions"]).table_valued(
            column("value", JSON), name="decision")
        category = func.json_array_elements_text(
            decision.c.value["categories_delivered"]).table_valued("value", name="category")
    else:
        decision = func.json_each(Exchange.response_body, "$.decisions").table_valued(
            "value", name="decision")
        category = func.json_each(decision.c.value, "$.categories_delivered").table_valued(
            "value", name="category")
    rows = _delivered_signals().select_from(join(Exchange, decision, true()).join(category, true()))
    return _counted(session, period, Exchange.created_at, category.c.value, rows)


def _cases(session: Session, period: Period, moment: Any) -> list[dict[str, Any]]:
    return _counted(session, period, moment, literal("case"), select(Case.id))


def _interventions(session: Session, period: Period) -> list[dict[str, Any]]:
    value = CaseAssignment.partner + ":" + CaseAssignment.state
    return _counted(session, period, CaseAssignment.offered_at, value, select(CaseAssignment.id))
