"""OpenAPI fragment of the statistics endpoint."""

from __future__ import annotations

from typing import Any

from gateway.openapi_parts import answer, problems, string
from gateway.statistics.services import MAX_MONTHS, MINIMUM_CELL

_CELL = {"type": "object", "properties": {
    "month": string(pattern="^[0-9]{4}-[0-9]{2}$"), "value": string(),
    "count": {"oneOf": [{"type": "integer", "minimum": MINIMUM_CELL},
                        string(enum=[f"<{MINIMUM_CELL}"])]}}}
_TABLES = ("signals_by_step", "signals_by_sender", "signals_by_category",
           "signals_by_exploitation_form", "cases_opened",
           "cases_closed", "interventions")

SCHEMAS: dict[str, Any] = {
    "StatisticsReport": {
        "type": "object",
        "properties": {
            "from": string(), "to": string(), "minimum_cell": {"type": "integer"},
            "tables": {"type": "object", "properties": {
                name: {"type": "array", "items": _CELL} for name in _TABLES}},
        },
    },
}

PATHS: dict[str, Any] = {
    "/v1/statistics": {"get": {
        "summary": "Signals, cases and interventions per month, for the RIEC's analyses",
        "description": "Scope `statistics:read`. Each number is one cell (one month, one value "
                       f"of one dimension); a cell under {MINIMUM_CELL} is `<{MINIMUM_CELL}`, an "
                       "empty one is left out; no totals, so answers cannot be subtracted to "
                       f"reveal a suppressed cell. At most {MAX_MONTHS} months; every request "
                       "is audited. `interventions` values are `partner:state`.",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "from", "in": "query", "schema": string(pattern="^[0-9]{4}-[0-9]{2}$"),
             "description": "First month (default: January of this year)"},
            {"name": "to", "in": "query", "schema": string(pattern="^[0-9]{4}-[0-9]{2}$"),
             "description": "Last month (default: this month)"},
        ],
        "responses": {**answer(200, "The cells", {"$ref": "#/components/schemas/StatisticsReport"}),
                      **problems(401, 403, 422)},
    }},
}
