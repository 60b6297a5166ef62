"""The exchange contract partner systems integrate with, as typed values.

These names are the public API: extend them, never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.policy.covenants import PROCESS_STEPS
from gateway.policy.signals import EXPLOITATION_FORMS

SUBJECT_ROLES = ("dader", "slachtoffer", "faciliteerder", "betrokkene")
#: The roles a subject of each kind can play: a place is where something happens, a business
#: can exploit or facilitate, only a person can be a victim.
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {
    "persoon": SUBJECT_ROLES,
    "locatie": ("betrokkene",),
    "organisatie": ("dader", "faciliteerder", "betrokkene"),
}
# A signal that names no form of exploitation (EXPLOITATION_FORMS) is about an unknown form.
UNKNOWN_EXPLOITATION_FORM = "onbekend"
__all__ = ["EXPLOITATION_FORMS", "PROCESS_STEPS", "ROLES_BY_KIND", "SUBJECT_ROLES",
           "UNKNOWN_EXPLOITATION_FORM", "ExchangeOutcome", "ExchangeRequest", "ItemInput",
           "SubjectInput"]


@dataclass(frozen=True)
class SubjectInput:
    ref: str
    role: str
    identifiers: dict[str, str]
    kind: str = "persoon"
    confidence: str = "hoog"


@dataclass(frozen=True)
class ItemInput:
    category: str
    subject_ref: str | None
    content: dict[str, Any]


@dataclass(frozen=True)
class ExchangeRequest:
    covenant: str
    purpose: str
    process_step: str
    recipients: tuple[str, ...]
    case_id: str | None
    subjects: tuple[SubjectInput, ...]
    items: tuple[ItemInput, ...]
    # Recipients that are the named case's assigned partner at its step (see CaseView).
    assigned_recipients: frozenset[str] = frozenset()
    exploitation_form: str = UNKNOWN_EXPLOITATION_FORM
    # The named case's case manager (a covenant relation grants can require).
    case_manager: str | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({item.category for item in self.items}))


@dataclass(frozen=True)
class ExchangeOutcome:
    """What the sender is told; stored whole so an idempotent retry gets it again."""

    status: int
    body: dict[str, Any]
