"""Audit search results as CSV, shared by the API and the privacy officer's page.

Cells a spreadsheet would run as a formula (OWASP "CSV injection") are quoted with a leading
apostrophe: partners choose some of the text an entry carries.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from gateway.auditing.services import audit_pseudonyms, decision_outcomes

CSV_COLUMNS = (
    "event_id", "recorded_at", "tree_index", "action", "actor_partner", "actor_client",
    "actor_oin", "covenant", "recipients", "decision", "audit_pseudonyms", "entry",
)
CSV_COLUMNS_OWN = tuple(column for column in CSV_COLUMNS if column != "audit_pseudonyms")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def events_csv(items: list[dict[str, Any]], officer: bool) -> str:
    """A search page as CSV; the audit pseudonym column is the privacy officer's only."""
    rows = []
    for item in items:
        entry = item["entry"]
        actor = entry.get("actor") if isinstance(entry.get("actor"), dict) else {}
        outcomes = decision_outcomes(entry)
        decision = {frozenset({True}): "allowed", frozenset({False}): "refused"}.get(
            frozenset(outcomes), "partial" if outcomes else ""
        )
        recipients = entry.get("recipients")
        rows.append([
            item["event_id"], item["recorded_at"], item["tree_index"], entry.get("action"),
            actor.get("partner"), actor.get("client"), actor.get("oin"), entry.get("covenant"),
            " ".join(map(str, recipients)) if isinstance(recipients, list) else "",
            decision, *([" ".join(audit_pseudonyms(entry))] if officer else []),
            json.dumps(entry, ensure_ascii=False, separators=(",", ":")),
        ])
    return safe_csv(CSV_COLUMNS if officer else CSV_COLUMNS_OWN, rows)


def safe_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text whose every cell is safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
