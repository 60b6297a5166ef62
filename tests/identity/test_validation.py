"""validate_identifiers: every problem reported once, at its field's pointer, without the value."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.identity.interfaces import validate_identifiers
from gateway.problems import FieldError

POINTER = "/subjects/0/identifiers"
TODAY = date(2026, 11, 29)


def errors_of(raw: object) -> list[FieldError]:
    return validate_identifiers(raw, POINTER, today=TODAY)


@pytest.mark.parametrize(
    "raw",
    [
        {"bsn": "111222333"},
        {"family_name": "Jansen", "birth_date": "1980-01-01"},
        {"family_name": "Jansen", "birth_date": TODAY.isoformat(), "given_names": "Jan"},
        {
            "bsn": "111222333", "family_name": "Berg", "prefix": "van der", "given_names": "Anna",
            "birth_date": "1987-03-14", "nationality": "NLD", "document_number": "NW1234567",
            "address": "Hoogstraat 1, 3131 BJ Vlaardingen",
        },
    ],
)
def test_valid_identifiers_have_no_errors(raw: object) -> None:
    assert errors_of(raw) == []


@pytest.mark.parametrize("raw", [None, "111222333", ["111222333"], 7])
def test_identifiers_must_be_an_object(raw: object) -> None:
    assert errors_of(raw) == [FieldError(POINTER, "must be an object")]


def test_unknown_fields_are_named_by_pointer() -> None:
    errors = errors_of({"bsn": "111222333", "shoe_size": "44", "a/b~c": "x"})
    assert {e.pointer for e in errors} == {f"{POINTER}/shoe_size", f"{POINTER}/a~1b~0c"}
    assert all(e.detail == "unknown field" for e in errors)


def test_an_invalid_bsn_is_reported_without_echoing_it() -> None:
    [error] = errors_of({"bsn": "111222334"})
    assert error == FieldError(f"{POINTER}/bsn", "not a valid BSN (elfproef)")
    assert "111222334" not in error.detail


@pytest.mark.parametrize(
    ("raw", "field", "detail"),
    [
        ({"bsn": 111222333}, "bsn", "must be a string"),
        ({"bsn": "111222333", "family_name": ""}, "family_name", "must not be empty"),
        ({"bsn": "111222333", "family_name": "x" * 201}, "family_name", "at most 200 characters"),
        ({"bsn": "111222333", "given_names": "Jan\x00"}, "given_names",
         "must not contain control characters"),
        ({"family_name": "J", "birth_date": "14-03-1987"}, "birth_date",
         "not an ISO date (YYYY-MM-DD)"),
        ({"family_name": "J", "birth_date": "1987-02-30"}, "birth_date",
         "not an ISO date (YYYY-MM-DD)"),
        ({"family_name": "J", "birth_date": "2026-11-30"}, "birth_date", "lies in the future"),
    ],
)
def test_each_bad_field_gets_its_own_pointer(raw: object, field: str, detail: str) -> None:
    assert errors_of(raw) == [FieldError(f"{POINTER}/{field}", detail)]


@pytest.mark.parametrize(
    "raw",
    [{}, {"family_name": "Jansen"}, {"birth_date": "1980-01-01", "given_names": "Jan"}],
)
def test_identifiers_that_name_nobody_point_at_the_object(raw: object) -> None:
    assert errors_of(raw) == [
        FieldError(POINTER, "needs a bsn, or a family_name and a birth_date")
    ]


def test_all_problems_are_reported_together() -> None:
    errors = errors_of({"bsn": "123", "birth_date": "soon", "extra": "x"})
    assert [e.pointer for e in errors] == [
        f"{POINTER}/extra", f"{POINTER}/birth_date", f"{POINTER}/bsn",
    ]
