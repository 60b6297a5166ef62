"""The shape of a person's identifiers, their validation, and the vault's errors.

Validation never echoes a submitted value in an error: error details end up in logs and problem
responses, and a rejected BSN is still a BSN.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

from gateway.identity.bsn import is_valid_bsn
from gateway.ports import IdentityError
from gateway.problems import FieldError


class Identifiers(TypedDict, total=False):
    bsn: str
    family_name: str
    given_names: str
    prefix: str
    birth_date: str
    nationality: str
    document_number: str
    address: str


# Generous for real names (long double names, several given names), tight enough that a field
# cannot smuggle a document into the vault.
MAX_FIELD_LENGTHS: Mapping[str, int] = {
    "bsn": 9,
    "family_name": 200,
    "given_names": 200,
    "prefix": 30,
    "birth_date": 10,
    "nationality": 64,
    "document_number": 64,
    "address": 500,
}
IDENTIFIER_FIELDS = frozenset(MAX_FIELD_LENGTHS)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class SealedSubject:
    """A person's vault row made ready outside any transaction (see ``IdentityVault.seal``).

    ``data_key`` is the plaintext key the row's ciphertext is sealed under; it only ever lives in
    memory, and is the subject's key for good when the row turns out to be new.
    """

    subject_id: str
    subject_key: str
    identifiers: Identifiers
    columns: Mapping[str, Any]
    data_key: bytes = field(repr=False, default=b"")


class SubjectNotFoundError(IdentityError):
    pass


class IdentityIntegrityError(IdentityError):
    """A stored identity failed authentication: it was altered or moved to another row."""


def parse_iso_date(value: str) -> date:
    """A calendar date written exactly as YYYY-MM-DD (no week dates, no times)."""
    if not _ISO_DATE.fullmatch(value):
        raise ValueError("not an ISO date (YYYY-MM-DD)")
    return date.fromisoformat(value)


def validate_identifiers(
    raw: object, pointer: str, *, today: date
) -> list[FieldError]:
    """Every problem with ``raw`` as :class:`Identifiers`, each pointing at its field."""
    if not isinstance(raw, dict):
        return [FieldError(pointer, "must be an object")]
    errors = [
        FieldError(f"{pointer}/{_escape_pointer(str(name))}", "unknown field")
        for name in raw
        if name not in IDENTIFIER_FIELDS
    ]
    valid: set[str] = set()
    for name in sorted(IDENTIFIER_FIELDS & raw.keys()):
        detail = _field_problem(name, raw[name], today)
        if detail is None:
            valid.add(name)
        else:
            errors.append(FieldError(f"{pointer}/{name}", detail))
    if not errors and not _names_a_person(valid):
        errors.append(FieldError(pointer, "needs a bsn, or a family_name and a birth_date"))
    return errors


def validate_fields(raw: Mapping[str, object], pointer: str, *, today: date) -> list[FieldError]:
    """Each known field of ``raw`` checked as :func:`validate_identifiers` checks it, without
    asking that they name a person: for corrections to some of a person's fields."""
    errors = [FieldError(f"{pointer}/{_escape_pointer(str(name))}", "unknown field")
              for name in raw if name not in IDENTIFIER_FIELDS]
    for name in sorted(IDENTIFIER_FIELDS & raw.keys()):
        detail = _field_problem(name, raw[name], today)
        if detail is not None:
            errors.append(FieldError(f"{pointer}/{name}", detail))
    return errors


def _names_a_person(fields: set[str]) -> bool:
    return "bsn" in fields or {"family_name", "birth_date"} <= fields


def _field_problem(name: str, value: object, today: date) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    shape = _text_problem(value, MAX_FIELD_LENGTHS[name])
    if shape is not None:
        return shape
    if name == "bsn":
        return None if is_valid_bsn(value) else "not a valid BSN (elfproef)"
    if name == "birth_date":
        return _birth_date_problem(value, today)
    return None


def _text_problem(value: str, max_length: int) -> str | None:
    if not value.strip():
        return "must not be empty"
    if len(value) > max_length:
        return f"at most {max_length} characters"
    if any(unicodedata.category(character) == "Cc" for character in value):
        return "must not contain control characters"
    return None


def _birth_date_problem(value: str, today: date) -> str | None:
    try:
        born = parse_iso_date(value)
    except ValueError:
        return "not an ISO date (YYYY-MM-DD)"
    return "lies in the future" if born > today else None


def _escape_pointer(token: str) -> str:
    # RFC 6901: '~' and '/' inside a reference token are escaped, '~' first.
    return token.replace("~", "~0").replace("/", "~1")
