"""The *Signaal melden* form: its fields turned into the body ``POST /v1/exchanges`` takes,
and the service's field errors (JSON pointers into that body) turned back into form fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.policy.covenants import PolicyBundle
from gateway.problems import FieldError

IDENTIFIER_FIELDS = ("given_names", "family_name", "birth_date", "bsn")
_POINTER_FIELDS = {
    "/covenant": "covenant", "/purpose": "covenant", "/recipients": "covenant",
    "/subjects/0/role": "subject_role", "/items/0/category": "category",
    "/items/0/content": "indicators", "/items/0/content/indicators": "indicators",
    "/items/0/content/observed_at": "observed_at",
    **{f"/subjects/0/identifiers/{name}": name for name in IDENTIFIER_FIELDS},
}
MAX_INDICATORS = 20


def reporting_covenants(bundle: PolicyBundle, partner: str) -> list[dict[str, Any]]:
    """The covenants in which ``partner`` reports signals to a RIEC, with their categories."""
    covenants = bundle.data["ketenpoort"]["covenants"]
    choices = []
    for covenant_id, document in sorted(covenants.items()):
        roles = {p["partner"]: p["role"] for p in document.get("parties", ())}
        regie = [p for p, role in roles.items() if role == "regie"]
        if partner in roles and regie and partner not in regie:
            choices.append({"id": covenant_id, "regie": regie[0],
                            "purpose": document["purposes"][0]["id"],
                            "categories": [c["id"] for c in document["categories"]]})
    return choices


def exchange_body(form: Mapping[str, str], covenant: dict[str, Any] | None) -> dict[str, Any]:
    """The API body for the form as filled in; the service validates it as it validates any."""
    identifiers = {name: form.get(name, "").strip() for name in IDENTIFIER_FIELDS
                   if form.get(name, "").strip()}
    indicators = [part.strip() for part in form.get("indicators", "").split(",")
                  if part.strip()][:MAX_INDICATORS]
    content: dict[str, Any] = {"indicators": indicators}
    if form.get("observed_at", "").strip():
        content["observed_at"] = form["observed_at"].strip()
    return {
        "covenant": covenant["id"] if covenant else form.get("covenant", ""),
        "purpose": covenant["purpose"] if covenant else "",
        "process_step": "detectie",
        "recipients": [covenant["regie"]] if covenant else [],
        "case_id": None,
        "subjects": [{"ref": "p1", "role": form.get("subject_role", ""),
                      "identifiers": identifiers}],
        "items": [{"category": form.get("category", ""), "subject_ref": "p1",
                   "content": content}],
    }


def field_errors(errors: list[FieldError]) -> tuple[dict[str, str], list[str]]:
    """Errors by form field, and the ones that belong to no single field."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for error in errors:
        field = _POINTER_FIELDS.get(error.pointer) or _POINTER_FIELDS.get(
            error.pointer.rsplit("/", 1)[0])
        if field and field not in by_field:
            by_field[field] = error.detail
        elif not field:
            general.append(f"{error.pointer or '/'}: {error.detail}")
    return by_field, general


def case_parties(bundle: PolicyBundle, covenant_id: str, role: str | None = None) -> list[str]:
    """The covenant's parties (with ``role``, when given) other than its regie, sorted."""
    document = bundle.data["ketenpoort"]["covenants"].get(covenant_id, {})
    return sorted(p["partner"] for p in document.get("parties", ())
                  if p["role"] != "regie" and (role is None or p["role"] == role))
