"""The messages the case room sends its participants, composed in one place.

Each names the case by id and persons by case-local alias, with at most the recipient's own
pseudonym beside it; titles are Dutch and never carry a name.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from gateway.cases.models import Case, CaseAssignment, CaseSubject
from gateway.delivery.messages import (
    CASE_MANAGER_APPOINTED,
    DEADLINE_PASSED,
    INTERVENTION_ACCEPTED,
    INTERVENTION_DECLINED,
    INTERVENTION_OFFERED,
)
from gateway.ports import PseudonymSource

TITLES = {
    CASE_MANAGER_APPOINTED: "U bent aangewezen als casusregisseur",
    INTERVENTION_OFFERED: "Er is u een interventie aangeboden",
    INTERVENTION_ACCEPTED: "Een interventie is aanvaard",
    INTERVENTION_DECLINED: "Een interventie is afgewezen",
    DEADLINE_PASSED: "De termijn van een processtap is verstreken",
}


class CaseNotifier(Protocol):
    def notify(self, session: Session, *, recipient: str, kind: str, content: dict[str, Any],
               idempotency_key: str, case_id: str | None = None) -> str: ...


def case_link(case_id: str) -> str:
    """The case in the workspace (relative to the gateway's address)."""
    return f"/werkruimte/casussen/{case_id}"


def about_case(kind: str, case: Case) -> dict[str, Any]:
    return {"title": TITLES[kind], "case_id": case.id, "covenant": case.covenant,
            "step": case.step, "link": case_link(case.id)}


def about_assignment(kind: str, case: Case, assignment: CaseAssignment,
                     persons: list[dict[str, str]]) -> dict[str, Any]:
    return {**about_case(kind, case), "assignment_id": assignment.id,
            "partner": assignment.partner, "intervention": assignment.intervention,
            "priority": assignment.priority,
            "planned_start": _day(assignment.planned_start),
            "planned_end": _day(assignment.planned_end), "persons": persons}


def persons_for(pseudonyms: PseudonymSource, subjects: list[CaseSubject], subject_ids: list[Any],
                recipient: str) -> list[dict[str, str]]:
    """The persons an intervention concerns, as ``recipient`` knows them."""
    wanted = set(subject_ids)
    return [{"alias": s.alias, "role": s.role,
             "pseudonym": pseudonyms.pseudonym(s.subject_id, recipient)}
            for s in subjects if s.subject_id in wanted]


def _day(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())
