"""The case contract: steps, the moves between them, who may make each move.

A case follows the process steps of the chain approach and ends ``gesloten``. The moves are
data (:data:`TRANSITIONS`), so the rules can be read, tested and explained in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.exchange.interfaces import PROCESS_STEPS, SUBJECT_ROLES
from gateway.policy.covenants import STEPS_WITH_ASSIGNMENT

CLOSED = "gesloten"
CASE_STEPS = (*PROCESS_STEPS, CLOSED)

#: Roles a partner can hold towards one case.
REGIE = "regie"  # the covenant party that directs the chain (the RIEC)
CASE_MANAGER = "case_manager"  # the municipality appointed for the case
ASSIGNED = "assigned"  # a partner offered or carrying out an intervention

#: (from, to) -> the roles that may make that move. Anything else is refused.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("detectie", "dossiervorming"): frozenset({REGIE}),
    ("dossiervorming", "weging_kwalificatie"): frozenset({REGIE}),
    ("weging_kwalificatie", "toewijzing_interventie"): frozenset({REGIE}),
    # Every offered intervention declined: weigh the case again.
    ("toewijzing_interventie", "weging_kwalificatie"): frozenset({REGIE}),
    ("toewijzing_interventie", "uitvoering"): frozenset({REGIE}),
    ("uitvoering", "evaluatie"): frozenset({REGIE, CASE_MANAGER}),
    ("evaluatie", CLOSED): frozenset({REGIE}),
    # A dossier that proves unfounded is closed before any intervention.
    ("detectie", CLOSED): frozenset({REGIE}),
    ("dossiervorming", CLOSED): frozenset({REGIE}),
    ("weging_kwalificatie", CLOSED): frozenset({REGIE}),
}

#: Moves that need an accepted intervention first.
NEEDS_ACCEPTED_ASSIGNMENT = frozenset({("toewijzing_interventie", "uitvoering")})

ASSIGNMENT_OFFERED = "offered"
ASSIGNMENT_ACCEPTED = "accepted"
ASSIGNMENT_DECLINED = "declined"
#: An assignment in one of these states makes its partner "the assigned partner".
ACTIVE_ASSIGNMENT_STATES = frozenset({ASSIGNMENT_OFFERED, ASSIGNMENT_ACCEPTED})

__all__ = [
    "ACTIVE_ASSIGNMENT_STATES", "ASSIGNED", "CASE_MANAGER", "CASE_STEPS", "CLOSED",
    "NEEDS_ACCEPTED_ASSIGNMENT", "REGIE", "STEPS_WITH_ASSIGNMENT", "SUBJECT_ROLES",
    "TRANSITIONS", "CaseContext", "allowed_moves",
]


@dataclass(frozen=True)
class CaseContext:
    """What an exchange or an agenda needs to know about one case."""

    case_id: str
    covenant: str
    step: str
    case_manager: str
    assigned: frozenset[str]

    def is_assigned(self, partner: str) -> bool:
        """True for the case's assigned partner, and only at the steps where assignment exists."""
        return self.step in STEPS_WITH_ASSIGNMENT and partner in self.assigned

    def involvement(self, partner: str) -> str | None:
        if partner in self.assigned:
            return ASSIGNED
        if partner == self.case_manager:
            return CASE_MANAGER
        return None


def allowed_moves(step: str) -> list[str]:
    return [to for (source, to) in TRANSITIONS if source == step]


def alias(index: int) -> str:
    """The case-local name of the ``index``-th subject: Persoon A .. Z, AA, AB, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"Persoon {letters}"
