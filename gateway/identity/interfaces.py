"""The shape of a person's identifiers, their validation, and the vault's errors.

Validation never echoes a submitted value in an error: error details end up in logs and problem
responses, and a rejected BSN is still a BSN.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
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
    nickname: str
    approximate_age: str
    # A location (kind "locatie").
    postcode: str
    house_number: str
    house_number_addition: str
    bag_id: str
    description: str
    # An organisation (kind "organisatie").
    kvk_number: str
    establishment_number: str
    trade_name: str


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
    "nickname": 100,
    "approximate_age": 3,
}
LOCATION_FIELD_LENGTHS: Mapping[str, int] = {
    "postcode": 7, "house_number": 5, "house_number_addition": 6, "bag_id": 16,
    "description": 200,
}
ORGANISATION_FIELD_LENGTHS: Mapping[str, int] = {
    "kvk_number": 8, "establishment_number": 12, "trade_name": 200,
}
PERSON_FIELDS = frozenset(MAX_FIELD_LENGTHS)
#: The subject kinds of the exchange contract and the identifier fields each may carry.
SUBJECT_KINDS: Mapping[str, frozenset[str]] = {
    "persoon": PERSON_FIELDS,
    "locatie": frozenset(LOCATION_FIELD_LENGTHS),
    "organisatie": frozenset(ORGANISATION_FIELD_LENGTHS),
}
IDENTIFIER_FIELDS = frozenset().union(*SUBJECT_KINDS.values())
FIELD_LENGTHS: Mapping[str, int] = {
    **MAX_FIELD_LENGTHS, **LOCATION_FIELD_LENGTHS, **ORGANISATION_FIELD_LENGTHS}
#: How sure the sender is of whom or what a subject is: "laag" for a person known only by a
#: partial description (a first name and an approximate age, a nickname).
CONFIDENCE_LEVELS = ("hoog", "laag")
#: A person not identified for certain must at least be named by one of these.
PARTIAL_NAME_FIELDS = frozenset({"given_names", "family_name", "nickname"})
MAX_APPROXIMATE_AGE = 120
_POSTCODE = re.compile(r"[1-9][0-9]{3} ?[A-Za-z]{2}")
# PostNL never issues the letter pairs SA, SD and SS.
_UNUSED_POSTCODE_LETTERS = frozenset({"SA", "SD", "SS"})
_HOUSE_NUMBER = re.compile(r"[1-9][0-9]{0,4}")
_HOUSE_NUMBER_ADDITION = re.compile(r"[A-Za-z0-9]{1,6}")
_BAG_ID = re.compile(r"[0-9]{16}")
_KVK_NUMBER = re.compile(r"[0-9]{8}")
_ESTABLISHMENT_NUMBER = re.compile(r"[0-9]{12}")
_AGE = re.compile(r"[0-9]{1,3}")
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
    """Every problem with ``raw`` as the :class:`Identifiers` of a fully identified person
    (a BSN, or a family name and a birth date), each pointing at its field."""
    errors, valid = _field_errors(raw, pointer, PERSON_FIELDS, today)
    if not errors and not names_a_person(valid):
        errors.append(FieldError(pointer, "needs a bsn, or a family_name and a birth_date"))
    return errors


def validate_subject_identifiers(
    kind: str, raw: object, pointer: str, *, today: date
) -> tuple[list[FieldError], str]:
    """Every problem with ``raw`` as the identifiers of a subject of ``kind``, and the
    confidence they give (see :data:`CONFIDENCE_LEVELS`).

    What is enough:

    * ``persoon``: a ``bsn``, or a ``family_name`` and a ``birth_date`` (confidence ``hoog``);
      otherwise at least one of ``given_names``, ``family_name`` or ``nickname`` (confidence
      ``laag``; ``approximate_age`` in whole years may add to it). A birth date or an age
      alone names nobody;
    * ``locatie``: a ``postcode`` and a ``house_number`` (``house_number_addition``,
      ``bag_id`` and ``description`` are optional);
    * ``organisatie``: a ``kvk_number`` (``establishment_number`` and ``trade_name`` are
      optional).
    """
    errors, valid = _field_errors(raw, pointer, SUBJECT_KINDS[kind], today)
    if errors:
        return errors, "hoog"
    if kind == "locatie" and not {"postcode", "house_number"} <= valid:
        errors.append(FieldError(pointer, "a location needs a postcode and a house_number"))
    elif kind == "organisatie" and "kvk_number" not in valid:
        errors.append(FieldError(pointer, "an organisation needs a kvk_number"))
    elif kind == "persoon" and not names_a_person(valid):
        if valid & PARTIAL_NAME_FIELDS:
            return errors, "laag"
        errors.append(FieldError(pointer, "needs a bsn, or a family_name and a birth_date; "
                                          "or, with low confidence, a given_names, "
                                          "family_name or nickname"))
    return errors, "hoog"


def names_a_person(fields: set[str] | frozenset[str]) -> bool:
    """Whether identifier fields identify a person for certain (their key is stable)."""
    return "bsn" in fields or {"family_name", "birth_date"} <= fields


def _field_errors(
    raw: object, pointer: str, allowed: frozenset[str], today: date
) -> tuple[list[FieldError], set[str]]:
    if not isinstance(raw, dict):
        return [FieldError(pointer, "must be an object")], set()
    errors = [
        FieldError(f"{pointer}/{_escape_pointer(str(name))}", "unknown field")
        for name in raw
        if name not in allowed
    ]
    valid: set[str] = set()
    for name in sorted(allowed & raw.keys()):
        detail = _field_problem(name, raw[name], today)
        if detail is None:
            valid.add(name)
        else:
            errors.append(FieldError(f"{pointer}/{name}", detail))
    return errors, valid


def validate_fields(raw: object, pointer: str, *, today: date) -> list[FieldError]:
    """Each field of ``raw`` checked as a person's field is checked, without asking that they
    name a person: for corrections to some of a person's fields."""
    errors, _valid = _field_errors(raw, pointer, PERSON_FIELDS, today)
    return errors


def _field_problem(name: str, value: object, today: date) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    shape = _text_problem(value, FIELD_LENGTHS[name])
    if shape is not None:
        return shape
    if name == "bsn":
        return None if is_valid_bsn(value) else "not a valid BSN (elfproef)"
    if name == "birth_date":
        return _birth_date_problem(value, today)
    return _FORM_PROBLEMS[name](value) if name in _FORM_PROBLEMS else None


def _postcode_problem(value: str) -> str | None:
    if not _POSTCODE.fullmatch(value.strip()):
        return "not a Dutch postcode (1234 AB)"
    if value.strip()[-2:].upper() in _UNUSED_POSTCODE_LETTERS:
        return "not a Dutch postcode (SA, SD and SS are never issued)"
    return None


def _pattern_problem(pattern: re.Pattern[str], detail: str) -> Callable[[str], str | None]:
    return lambda value: None if pattern.fullmatch(value) else detail


def _kvk_problem(value: str) -> str | None:
    if not _KVK_NUMBER.fullmatch(value) or value == "0" * len(value):
        return "not a KvK number (eight digits, not all zeros)"
    return None


def _age_problem(value: str) -> str | None:
    if not _AGE.fullmatch(value) or int(value) > MAX_APPROXIMATE_AGE:
        return f"an age in whole years, 0 to {MAX_APPROXIMATE_AGE}"
    return None


_FORM_PROBLEMS: Mapping[str, Callable[[str], str | None]] = {
    "postcode": _postcode_problem,
    "house_number": _pattern_problem(_HOUSE_NUMBER, "a house number: 1 to 99999"),
    "house_number_addition": _pattern_problem(_HOUSE_NUMBER_ADDITION,
                                              "letters and digits only, at most 6"),
    "bag_id": _pattern_problem(_BAG_ID, "a BAG identification: sixteen digits"),
    "kvk_number": _kvk_problem,
    "establishment_number": _pattern_problem(_ESTABLISHMENT_NUMBER,
                                             "a KvK establishment number: twelve digits"),
    "approximate_age": _age_problem,
}


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
