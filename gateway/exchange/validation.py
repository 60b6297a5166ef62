"""Turns an exchange request body into an :class:`ExchangeRequest`, or a 422 naming every fault.

Validation collects all field errors in one pass (a partner's developer fixes them at once),
each with a JSON pointer into the request body. Limits are stated here and in the OpenAPI
description; the body as a whole is capped by ``Settings.max_body_bytes``.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Protocol

from gateway.exchange.interfaces import (
    EXPLOITATION_FORMS,
    PROCESS_STEPS,
    ROLES_BY_KIND,
    UNKNOWN_EXPLOITATION_FORM,
    ExchangeRequest,
    ItemInput,
    SubjectInput,
)
from gateway.identity.interfaces import (
    IDENTIFIER_FIELDS,
    SUBJECT_KINDS,
    validate_subject_identifiers,
)
from gateway.ports import PartnerProfile
from gateway.problems import FieldError, conflict, validation_failed

MAX_RECIPIENTS = 25
MAX_SUBJECTS = 200
MAX_ITEMS = 500
MAX_ITEM_CONTENT_BYTES = 65_536
REF_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
TOP_LEVEL_FIELDS = frozenset(
    {"covenant", "purpose", "process_step", "recipients", "case_id", "subjects", "items",
     "exploitation_form"}
)
REQUIRED_FIELDS = ("covenant", "purpose", "process_step", "recipients", "subjects", "items")
_WITHOUT_STEP = tuple(name for name in REQUIRED_FIELDS if name != "process_step")
# A required array that is missing is reported once, by the check of the top-level fields.
_ABSENT = object()
CASE_ID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SUBJECT_FIELDS = frozenset({"ref", "kind", "role", "identifiers"})
DEFAULT_KIND = "persoon"  # a subject sent without a kind, as before kinds existed
ITEM_FIELDS = frozenset({"category", "subject_ref", "content"})
# The request's shape as the audit log may name it: a mapping lists the member names we
# define, a list (one element) stands for array positions, None for a value with no members
# we define (an item's ``content`` is the partner's own).
_LEAF = None
BODY_SHAPE: dict[str, Any] = {
    **dict.fromkeys(TOP_LEVEL_FIELDS - {"recipients", "subjects", "items"}, _LEAF),
    "recipients": [_LEAF],
    "subjects": [{"ref": _LEAF, "kind": _LEAF, "role": _LEAF,
                  "identifiers": dict.fromkeys(IDENTIFIER_FIELDS, _LEAF)}],
    "items": [dict.fromkeys(ITEM_FIELDS, _LEAF)],
}
# Stands for a member name the partner chose: what it was is never written down.
UNKNOWN_MEMBER = "*"
MAX_INDEX_DIGITS = 3  # positions below MAX_ITEMS; a longer "index" is no index of ours


class CovenantCatalogue(Protocol):
    """What validation needs to know about partners and covenants."""

    def partner_ids(self) -> frozenset[str]: ...

    def partner(self, partner_id: str) -> PartnerProfile | None: ...

    def covenant_purposes(self, covenant_id: str) -> frozenset[str] | None: ...

    def covenant_categories(self, covenant_id: str) -> frozenset[str] | None: ...

    def content_problems(self, category: str, content: dict[str, Any]) -> list[FieldError]:
        """What is wrong with an item's content by its category's schema, each pointer
        relative to the content; empty for a category without a schema."""
        ...


class CaseView(Protocol):
    """A case as an exchange naming it needs it: its covenant, its step, its assigned partner."""

    @property
    def covenant(self) -> str: ...

    @property
    def step(self) -> str: ...

    def is_assigned(self, partner: str) -> bool: ...

    @property
    def case_manager(self) -> str: ...


class CaseLookup(Protocol):
    def context_for(self, partner: str, case_id: str) -> CaseView | None:
        """The case if ``partner`` is involved in it; None alike for absent and foreign cases."""
        ...


def parse_exchange(
    body: dict[str, Any], catalogue: CovenantCatalogue, cases: CaseLookup | None = None, *,
    sender: str, today: date,
) -> ExchangeRequest:
    errors: list[FieldError] = []
    case = _case(body, cases, sender, errors)
    # An exchange that names a case takes its process step from the case.
    required = REQUIRED_FIELDS if case is None else _WITHOUT_STEP
    _check_fields(body, "", TOP_LEVEL_FIELDS, required, errors)
    covenant = _string(body, "covenant", "", errors, ID_PATTERN)
    purpose = _string(body, "purpose", "", errors, ID_PATTERN)
    step = _string(body, "process_step", "", errors)
    form = _exploitation_form(body, errors)
    if step is not None and step not in PROCESS_STEPS:
        errors.append(FieldError("/process_step", f"unknown process step; one of {PROCESS_STEPS}"))
    recipients = _recipients(body.get("recipients", _ABSENT), catalogue, errors)
    categories = _check_covenant(catalogue, covenant, purpose, errors)
    if case is not None and covenant is not None and covenant != case.covenant:
        errors.append(FieldError("/case_id", f"the case is under covenant {case.covenant}"))
    subjects = _subjects(body.get("subjects", _ABSENT), today, errors)
    items = _items(body.get("items", _ABSENT), {s.ref for s in subjects}, categories,
                   catalogue, errors)
    if case is not None and not errors:
        step = _step_of_case(case, step)
    # Each of these is None only when an error was recorded for it.
    if errors or covenant is None or purpose is None or step is None:
        raise validation_failed(errors)
    assigned = frozenset(r for r in recipients if case is not None and case.is_assigned(r))
    manager = None if case is None else case.case_manager
    return ExchangeRequest(covenant, purpose, step, recipients, body.get("case_id"), subjects,
                           items, assigned, form, manager)


def _exploitation_form(body: dict[str, Any], errors: list[FieldError]) -> str:
    """The signal's form of exploitation; a signal that names none is about an unknown one."""
    form = body.get("exploitation_form", UNKNOWN_EXPLOITATION_FORM)
    if form not in EXPLOITATION_FORMS:
        errors.append(FieldError("/exploitation_form",
                                 f"unknown form of exploitation; one of {EXPLOITATION_FORMS}"))
        return UNKNOWN_EXPLOITATION_FORM
    return str(form)


def _step_of_case(case: CaseView, claimed: str | None) -> str:
    if case.step not in PROCESS_STEPS:
        raise conflict("case-closed", f"the case is {case.step}; nothing more is exchanged "
                       "about it")
    if claimed is not None and claimed != case.step:
        raise conflict("case-step-mismatch", f"the case is at {case.step}; an exchange naming "
                       f"it cannot claim {claimed} (leave process_step out to take the case's)")
    return case.step


def _check_fields(
    value: dict[str, Any], pointer: str, allowed: frozenset[str],
    required: tuple[str, ...], errors: list[FieldError],
) -> None:
    for name in sorted(set(value) - allowed):
        errors.append(FieldError(f"{pointer}/{_escape(name)}", "unknown field"))
    for name in required:
        if name not in value:
            errors.append(FieldError(f"{pointer}/{name}", "required field is missing"))


def _string(
    value: dict[str, Any], name: str, pointer: str, errors: list[FieldError],
    pattern: re.Pattern[str] | None = None,
) -> str | None:
    raw = value.get(name)
    if name not in value:
        return None
    if not isinstance(raw, str) or not raw:
        errors.append(FieldError(f"{pointer}/{name}", "must be a non-empty string"))
        return None
    if pattern is not None and not pattern.match(raw):
        errors.append(FieldError(f"{pointer}/{name}", f"must match {pattern.pattern}"))
        return None
    return raw


def _array(
    raw: Any, pointer: str, limit: int, errors: list[FieldError]
) -> list[Any]:
    if raw is _ABSENT:
        return []
    if not isinstance(raw, list) or not raw:
        errors.append(FieldError(pointer, "must be a non-empty array"))
        return []
    if len(raw) > limit:
        errors.append(FieldError(pointer, f"at most {limit} entries"))
        return []
    return raw


def _recipients(
    raw: Any, catalogue: CovenantCatalogue, errors: list[FieldError]
) -> tuple[str, ...]:
    known = catalogue.partner_ids()
    seen: set[str] = set()
    listed = _array(raw, "/recipients", MAX_RECIPIENTS, errors)
    for index, recipient in enumerate(listed):
        pointer = f"/recipients/{index}"
        if not isinstance(recipient, str):
            errors.append(FieldError(pointer, "must be a partner id (string)"))
        elif recipient not in known:
            errors.append(FieldError(pointer, f"unknown partner {recipient!r}"))
        elif recipient in seen:
            errors.append(FieldError(pointer, f"duplicate recipient {recipient!r}"))
        else:
            seen.add(recipient)
    return tuple(r for r in listed if isinstance(r, str) and r in seen)


def _case(
    body: dict[str, Any], cases: CaseLookup | None, sender: str, errors: list[FieldError]
) -> CaseView | None:
    case_id = body.get("case_id")
    if case_id is None:
        return None
    if not isinstance(case_id, str) or not CASE_ID_PATTERN.match(case_id):
        errors.append(FieldError("/case_id", "must be a case id (a lowercase UUID) or null"))
        return None
    case = None if cases is None else cases.context_for(sender, case_id)
    if case is None:
        errors.append(FieldError("/case_id", "no case with this id that you are involved in"))
    return case


def _subjects(raw: Any, today: date, errors: list[FieldError]) -> tuple[SubjectInput, ...]:
    subjects: list[SubjectInput] = []
    refs: set[str] = set()
    for index, subject in enumerate(_array(raw, "/subjects", MAX_SUBJECTS, errors)):
        pointer = f"/subjects/{index}"
        if not isinstance(subject, dict):
            errors.append(FieldError(pointer, "must be an object"))
            continue
        before = len(errors)
        _check_fields(subject, pointer, SUBJECT_FIELDS, ("ref", "role", "identifiers"), errors)
        ref = _string(subject, "ref", pointer, errors, REF_PATTERN)
        kind = _kind(subject, pointer, errors)
        role = _string(subject, "role", pointer, errors)
        roles = ROLES_BY_KIND.get(kind or DEFAULT_KIND, ())
        if role is not None and kind is not None and role not in roles:
            errors.append(FieldError(f"{pointer}/role", f"not a role of a {kind}; one of {roles}"))
        confidence = "hoog"
        if "identifiers" in subject and kind is not None:
            problems, confidence = validate_subject_identifiers(
                kind, subject["identifiers"], f"{pointer}/identifiers", today=today)
            errors.extend(problems)
        if ref is not None and ref in refs:
            errors.append(FieldError(f"{pointer}/ref", f"duplicate subject ref {ref!r}"))
        if ref is not None:
            refs.add(ref)
        if len(errors) == before and ref is not None and role is not None and kind is not None:
            subjects.append(SubjectInput(ref, role, dict(subject["identifiers"]), kind,
                                         confidence))
    return tuple(subjects)


def _kind(subject: dict[str, Any], pointer: str, errors: list[FieldError]) -> str | None:
    kind = subject.get("kind", DEFAULT_KIND)
    if kind not in SUBJECT_KINDS:
        errors.append(FieldError(f"{pointer}/kind",
                                 f"unknown subject kind; one of {tuple(SUBJECT_KINDS)}"))
        return None
    return str(kind)


def _check_covenant(
    catalogue: CovenantCatalogue, covenant: str | None, purpose: str | None,
    errors: list[FieldError],
) -> frozenset[str] | None:
    """The covenant's categories, or None when the covenant is unknown or absent."""
    if covenant is None:
        return None
    purposes = catalogue.covenant_purposes(covenant)
    categories = catalogue.covenant_categories(covenant)
    if purposes is None or categories is None:
        errors.append(FieldError("/covenant", f"unknown covenant {covenant!r}"))
        return None
    if purpose is not None and purpose not in purposes:
        errors.append(
            FieldError("/purpose", f"purpose {purpose!r} is not a purpose of covenant {covenant!r}")
        )
    return categories


def _items(
    raw: Any, refs: set[str], categories: frozenset[str] | None, catalogue: CovenantCatalogue,
    errors: list[FieldError],
) -> tuple[ItemInput, ...]:
    items: list[ItemInput] = []
    for index, item in enumerate(_array(raw, "/items", MAX_ITEMS, errors)):
        pointer = f"/items/{index}"
        if not isinstance(item, dict):
            errors.append(FieldError(pointer, "must be an object"))
            continue
        before = len(errors)
        _check_fields(item, pointer, ITEM_FIELDS, ("category", "content"), errors)
        category = _string(item, "category", pointer, errors, ID_PATTERN)
        if category is not None and categories is not None and category not in categories:
            errors.append(
                FieldError(f"{pointer}/category", f"category {category!r} is not in the covenant")
            )
        subject_ref = item.get("subject_ref")
        if subject_ref is not None and not isinstance(subject_ref, str):
            errors.append(FieldError(f"{pointer}/subject_ref", "must be a subject ref (string) "
                                                               "or null"))
        elif subject_ref is not None and subject_ref not in refs:
            errors.append(
                FieldError(f"{pointer}/subject_ref", f"no subject with ref {subject_ref!r}")
            )
        content = item.get("content")
        _check_content(content, f"{pointer}/content", errors)
        if category is not None and isinstance(content, dict) and len(errors) == before:
            errors.extend(FieldError(f"{pointer}/content{problem.pointer}", problem.detail)
                          for problem in catalogue.content_problems(category, content))
        if len(errors) == before and category is not None and isinstance(content, dict):
            items.append(ItemInput(category, subject_ref, content))
    return tuple(items)


def _check_content(content: Any, pointer: str, errors: list[FieldError]) -> None:
    if not isinstance(content, dict):
        errors.append(FieldError(pointer, "must be an object"))
    elif len(json.dumps(content, separators=(",", ":"))) > MAX_ITEM_CONTENT_BYTES:
        errors.append(FieldError(pointer, f"at most {MAX_ITEM_CONTENT_BYTES} bytes of JSON"))


def schema_pointer(pointer: str) -> str:
    """``pointer`` with every member name the partner chose replaced by :data:`UNKNOWN_MEMBER`.

    Rejections are audited, and the append-only log must not keep text a partner chose
    (``/subjects/1/identifiers/Eva Jansen 1999-04-02`` would stay forever). A pointer is
    rebuilt token by token from :data:`BODY_SHAPE`; at the first token the shape does not
    define, the rest collapses into one ``*``.
    """
    if not pointer.startswith("/"):
        return ""
    shape: Any = BODY_SHAPE
    rebuilt = ""
    for token in pointer[1:].split("/"):
        if isinstance(shape, dict) and token in shape:
            shape = shape[token]
        elif isinstance(shape, list) and token.isascii() and token.isdigit() and (
                len(token) <= MAX_INDEX_DIGITS):
            shape = shape[0]
        else:
            return f"{rebuilt}/{UNKNOWN_MEMBER}"
        rebuilt = f"{rebuilt}/{token}"
    return rebuilt


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
