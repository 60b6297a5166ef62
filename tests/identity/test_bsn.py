"""The elfproef, and exactly which errors it is known to catch."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.identity.bsn import is_valid_bsn
from tests.identity.factories import valid_bsns


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "999999990", "010000008"])
def test_known_valid_numbers_pass(bsn: str) -> None:
    assert is_valid_bsn(bsn)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("111222334", "check digit off by one"),
        ("123456789", "fails the elfproef"),
        ("000000000", "all zeros sums to zero but is no number"),
        ("10000008", "eight digits: adapters must pad"),
        ("1112223330", "ten digits"),
        ("11122233a", "a letter"),
        ("111 222 333", "spaces"),
        ("١١١٢٢٢٣٣٣", "Arabic-Indic digits pass str.isdigit() but are not a BSN"),
        ("", "empty"),
    ],
)
def test_invalid_numbers_fail(value: str, why: str) -> None:
    assert not is_valid_bsn(value), why


@given(valid_bsns(), st.integers(0, 8), st.integers(1, 9))
def test_any_single_digit_change_is_caught(bsn: str, position: int, shift: int) -> None:
    # Holds because 11 is prime and no weight (9..2, -1) is a multiple of 11: a change of
    # delta (1..9) at any position moves the sum by weight*delta, never by a multiple of 11.
    changed_digit = str((int(bsn[position]) + shift) % 10)
    changed = bsn[:position] + changed_digit + bsn[position + 1 :]
    assert not is_valid_bsn(changed)


@given(valid_bsns(), st.sampled_from(list(itertools.combinations(range(9), 2))))
def test_any_swap_of_two_different_digits_is_caught(bsn: str, positions: tuple[int, int]) -> None:
    # Also true, checked exhaustively before asserting: the weights 9,8,...,2,-1 are pairwise
    # distinct modulo 11 (-1 = 10), so swapping digits a != b at weights w1, w2 moves the sum by
    # (w1 - w2)(b - a), which is never a multiple of 11. Adjacent swaps are a special case.
    first, second = positions
    digits = list(bsn)
    if digits[first] == digits[second]:
        return
    digits[first], digits[second] = digits[second], digits[first]
    assert not is_valid_bsn("".join(digits))


def test_two_changed_digits_can_slip_through() -> None:
    # The elfproef is a single check digit: it cannot catch every double error. This pins the
    # limit so nobody documents a stronger guarantee than the checksum gives.
    # First digit -1 (weight 9: -9), second +8 (weight 8: +64): the sum moves by 55 = 5 * 11.
    assert is_valid_bsn("111222333")
    assert is_valid_bsn("091222333")
