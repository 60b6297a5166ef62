"""The exchange contract partner systems integrate with, as typed values.

These names are the public API: extend them, never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.policy.covenants import PROCESS_STEPS

SUBJECT_ROLES = ("dader", "slachtoffer", "faciliteerder", "betrokkene")
__all__ = ["PROCESS_STEPS", "SUBJECT_ROLES", "ExchangeOutcome", "ExchangeRequest", "ItemInput",
           "SubjectInput"]


@dataclass(frozen=True)
class SubjectInput:
    ref: str
    role: str
    identifiers: dict[str, str]


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
