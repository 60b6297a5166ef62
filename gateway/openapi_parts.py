"""Building blocks for the OpenAPI fragments of the domain packages.

Kept apart from :mod:`gateway.openapi`, which imports every fragment and so cannot be imported
by them.
"""

from __future__ import annotations

import re
from typing import Any


def problems(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": "#/components/responses/Problem"} for s in statuses}


def string(**extra: Any) -> dict[str, Any]:
    return {"type": "string", **extra}


def free_text(max_length: int, **extra: Any) -> dict[str, Any]:
    """A string the services take as free text: not blank (some non-whitespace character, as
    their ``value.strip()`` demands) and at most ``max_length`` characters."""
    return string(minLength=1, maxLength=max_length, pattern=r"\S", **extra)


def matching(pattern: re.Pattern[str], **extra: Any) -> dict[str, Any]:
    """A string the services check against ``pattern``: the same expression, documented."""
    return string(pattern=pattern.pattern, **extra)


def path_parameters(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": string()} for n in names]


def json_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False, "required": required,
        "properties": properties}}}}


def answer(status: int, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {str(status): {"description": description,
                          "content": {"application/json": {"schema": schema}}}}
