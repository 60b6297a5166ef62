"""The work list: the cases a partner takes part in, filtered and paged with an opaque cursor.

Every query is narrowed to the caller's own cases before any filter or cursor applies, so a
filter or a forged cursor only ever moves within cases the caller may see anyway: it cannot
tell a case it is not involved in from one that does not exist.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from gateway.cases.interfaces import (
    ACTIVE_ASSIGNMENT_STATES,
    ASSIGNED,
    CASE_MANAGER,
    CASE_STEPS,
    CLOSED,
    REGIE,
)
from gateway.cases.models import Case, CaseAssignment
from gateway.cases.validation import PARTNER_PATTERN, UUID_PATTERN
from gateway.problems import FieldError, validation_failed

#: The roles a work list can be narrowed to.
ROLE_FILTERS = (REGIE, CASE_MANAGER, ASSIGNED)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class CasePosition:
    """The last case a page showed: pages run newest case first."""

    created_at: datetime
    case_id: str


@dataclass(frozen=True)
class WorkListQuery:
    role: str | None = None
    step: str | None = None
    overdue: bool | None = None
    covenant: str | None = None
    after: CasePosition | None = None
    limit: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> WorkListQuery:
        """The query string's filters; every fault is a 422 naming its parameter."""
        errors: list[FieldError] = []

        def choice(name: str, choices: tuple[str, ...]) -> str | None:
            value = args.get(name)
            if value is not None and value not in choices:
                errors.append(FieldError(f"/{name}", f"one of {list(choices)}"))
                return None
            return value

        role = choice("role", ROLE_FILTERS)
        step = choice("step", CASE_STEPS)
        overdue = choice("overdue", ("true", "false"))
        covenant = args.get("covenant")
        if covenant is not None and not PARTNER_PATTERN.match(covenant):
            errors.append(FieldError("/covenant", "a covenant id"))
        limit = args.get("limit", str(DEFAULT_PAGE_SIZE))
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE_SIZE:
            errors.append(FieldError("/limit", f"an integer from 1 to {MAX_PAGE_SIZE}"))
        after = _decoded(args.get("cursor"), errors)
        if errors:
            raise validation_failed(errors)
        return cls(role=role, step=step, overdue=None if overdue is None else overdue == "true",
                   covenant=covenant, after=after, limit=int(limit))

    def statement(self, partner: str, now: datetime) -> Select[Case]:
        """The caller's cases matching the filters, one more than a page, newest first."""
        assigned = select(CaseAssignment.case_id).where(
            CaseAssignment.partner == partner, CaseAssignment.state.in_(ACTIVE_ASSIGNMENT_STATES))
        by_role = {REGIE: Case.regie == partner, CASE_MANAGER: Case.case_manager == partner,
                   ASSIGNED: Case.id.in_(assigned)}
        query = select(Case).where(or_(*by_role.values()))
        if self.role is not None:
            query = query.where(by_role[self.role])
        if self.step is not None:
            query = query.where(Case.step == self.step)
        if self.covenant is not None:
            query = query.where(Case.covenant == self.covenant)
        if self.overdue is not None:
            late = and_(Case.step != CLOSED, Case.step_due_at.is_not(None), Case.step_due_at < now)
            query = query.where(late if self.overdue else ~late)
        if self.after is not None:
            query = query.where(or_(
                Case.created_at < self.after.created_at,
                and_(Case.created_at == self.after.created_at, Case.id < self.after.case_id)))
        return query.order_by(Case.created_at.desc(), Case.id.desc()).limit(self.limit + 1)


def is_overdue(case: Case, now: datetime) -> bool:
    return case.step != CLOSED and case.step_due_at is not None and case.step_due_at < now


def encode_cursor(case: Case) -> str:
    raw = f"c:{case.created_at.isoformat()}|{case.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decoded(cursor: str | None, errors: list[FieldError]) -> CasePosition | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, rest = raw.partition(":")
        moment, _, case_id = rest.partition("|")
        created_at = datetime.fromisoformat(moment)
        if prefix != "c" or created_at.tzinfo is None or not UUID_PATTERN.match(case_id):
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        errors.append(FieldError("/cursor", "not a cursor this work list issued"))
        return None
    return CasePosition(created_at, case_id)
