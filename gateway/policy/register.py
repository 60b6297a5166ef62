"""What the covenants say, read for people: who may give what to whom, and the register of
processing activities (AVG art. 30) they imply.

Read from the covenant documents of the policy bundle in force, so the pages show exactly what
the policy engine decides on; nothing here decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.policy.interfaces import IDENTITY_LEVELS


@dataclass(frozen=True)
class SightCell:
    """What one recipient may receive of one category at one step, and from whom."""

    identity: str  # the strongest identity level any grant gives, "none" when none does
    providers: tuple[str, ...]
    # Whether that strongest level comes only with a relation to the case: the recipient is
    # assigned to it, or is its case manager (both: under either grant).
    requires_assignment: bool
    requires_case_manager: bool


def covenant_documents(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = data["ketenpoort"]["covenants"]
    return documents


def sight_matrix(document: Mapping[str, Any], step: str
                 ) -> dict[str, dict[str, SightCell]]:
    """Recipient -> category -> what it may receive at ``step`` ("who may see what")."""
    reaching: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for grant in document["grants"]:
        if step not in grant["process_steps"]:
            continue
        for recipient in grant["recipients"]:
            row = reaching.setdefault(recipient, {})
            for category in grant["categories"]:
                row.setdefault(category, []).append(grant)
    return {recipient: {category: _cell(grants) for category, grants in row.items()}
            for recipient, row in reaching.items()}


def _cell(grants: list[Mapping[str, Any]]) -> SightCell:
    identity = max((grant["identity"] for grant in grants), key=IDENTITY_LEVELS.index)
    strongest = [grant for grant in grants if grant["identity"] == identity]
    conditional = all(
        grant.get("requires_assignment") or grant.get("requires_case_manager")
        for grant in strongest)
    return SightCell(
        identity, tuple(sorted({provider for grant in grants for provider in grant["providers"]})),
        requires_assignment=conditional and any(
            grant.get("requires_assignment", False) for grant in strongest),
        requires_case_manager=conditional and any(
            grant.get("requires_case_manager", False) for grant in strongest))


REGISTER_COLUMNS = (
    "covenant", "covenant_title", "controller_contact", "purpose", "category",
    "category_title", "legal_basis", "special_category", "providers", "recipients",
    "process_steps", "retention",
)


def processing_register(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per covenant, purpose and category: the AVG art. 30 register's content
    (purposes, categories, recipients, legal bases, retention), from the grants in force."""
    rows = []
    for covenant_id, document in sorted(covenant_documents(data).items()):
        retention = "; ".join(
            f"{kind}: {term['months']} maanden vanaf {term['counted_from']}"
            for kind, term in sorted(document["retention"].items()))
        contact = document.get("contact_point", {})
        for purpose in document["purposes"]:
            for category in document["categories"]:
                grants = [g for g in document["grants"] if g["purpose"] == purpose["id"]
                          and category["id"] in g["categories"]]
                if not grants:
                    continue
                rows.append({
                    "covenant": covenant_id,
                    "covenant_title": document.get("title", covenant_id),
                    "controller_contact": contact.get("email", ""),
                    "purpose": purpose["title"],
                    "category": category["id"],
                    "category_title": category["title"],
                    "legal_basis": category["legal_basis"],
                    "special_category": category.get("special") or "",
                    "providers": _joined(grants, "providers"),
                    "recipients": _joined(grants, "recipients"),
                    "process_steps": _joined(grants, "process_steps"),
                    "retention": retention,
                })
    return rows


def _joined(grants: list[dict[str, Any]], key: str) -> str:
    return ", ".join(sorted({value for grant in grants for value in grant[key]}))
