"""The data subject's rights forms: their fields turned into the bodies the rights services
take (the API's bodies), and the services' field errors turned back into form fields.

The person is named by BSN, or by family name and birth date (given names optional): the
fields a data subject gives. A correction's fields are the same names with ``new_`` before
them; the service decides which fields can be rectified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.problems import Problem
from gateway.workspace.signal_form import IDENTIFIER_FIELDS

CORRECTION_PREFIX = "new_"
CORRECTABLE_FIELDS = tuple(name for name in IDENTIFIER_FIELDS if name != "bsn")
# The form fields a refusal's pointers name; anything else is shown above the form.
_POINTER_FIELDS = {
    **{f"/identifiers/{name}": name for name in IDENTIFIER_FIELDS},
    **{f"/corrections/{name}": CORRECTION_PREFIX + name for name in CORRECTABLE_FIELDS},
    "/covenant": "covenant", "/grounds": "grounds",
}


def _filled(form: Mapping[str, str], names: tuple[str, ...], prefix: str = "") -> dict[str, str]:
    return {name: value for name in names if (value := form.get(prefix + name, "").strip())}


def identifiers_body(form: Mapping[str, str]) -> dict[str, Any]:
    """``{"identifiers": ...}``: the body of a subject access request and of a restriction."""
    return {"identifiers": _filled(form, IDENTIFIER_FIELDS)}


def rectification_body(form: Mapping[str, str]) -> dict[str, Any]:
    return {**identifiers_body(form),
            "corrections": _filled(form, CORRECTABLE_FIELDS, CORRECTION_PREFIX)}


def objection_body(form: Mapping[str, str]) -> dict[str, Any]:
    return {**identifiers_body(form), "covenant": form.get("covenant", ""),
            "grounds": form.get("grounds", "").strip()}


def refusal_messages(problem: Problem) -> tuple[dict[str, str], list[str]]:
    """A refusal's errors by form field, and those (or its detail) that belong to no field."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for error in problem.errors:
        field = _POINTER_FIELDS.get(error.pointer)
        if field is None:
            general.append(error.detail)
        else:
            by_field.setdefault(field, error.detail)
    if not problem.errors:
        general.append(problem.detail)
    return by_field, general
