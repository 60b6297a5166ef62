"""Valid BSNs, identifiers and registered subjects for the identity tests."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st
from sqlalchemy.orm import Session

from gateway.identity.bsn import ELFPROEF_WEIGHTS, elfproef_sum
from gateway.identity.interfaces import Identifiers
from gateway.identity.services import IdentityVault

# The first eight digits of the next factory BSN; each call takes the next valid number.
_first_eight_digits = itertools.count(10_000_000)


def with_check_digit(first_eight: str) -> str | None:
    """The BSN completing ``first_eight``, or None when no check digit makes it valid."""
    check_digit = elfproef_sum(first_eight + "0") % 11
    if check_digit == 10 or first_eight + str(check_digit) == "0" * len(ELFPROEF_WEIGHTS):
        return None
    return first_eight + str(check_digit)


def next_bsn() -> str:
    while True:
        bsn = with_check_digit(str(next(_first_eight_digits)))
        if bsn is not None:
            return bsn


def valid_bsns() -> st.SearchStrategy[str]:
    return (
        st.text(alphabet="0123456789", min_size=8, max_size=8)
        .map(with_check_digit)
        .filter(lambda bsn: bsn is not None)
        .map(str)
    )


def identifiers(**overrides: str) -> Identifiers:
    """A complete, valid person with a fresh BSN; ``overrides`` replace or add fields."""
    person: Identifiers = {
        "bsn": next_bsn(),
        "family_name": "Vermeulen",
        "prefix": "van der",
        "given_names": "Anna Maria",
        "birth_date": "1987-03-14",
        "nationality": "NLD",
    }
    person.update(overrides)  # type: ignore[typeddict-item]  # tests pass only known fields
    return person


def registered_subject(
    session: Session, vault: IdentityVault, **overrides: str
) -> tuple[str, Identifiers]:
    person = identifiers(**overrides)
    return vault.register(session, person), person
