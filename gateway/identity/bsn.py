"""The BSN (burgerservicenummer) check.

Only the canonical nine-digit form is accepted. Some registries print older numbers with eight
digits; the leading zero they dropped carries weight 9 in the elfproef, so padding does not change
validity, but it does change the string, and the BSN is the person's matching key: accepting both
spellings would give one person two keys. Adapters pad; the gateway takes nine digits.
"""

from __future__ import annotations

import re

BSN_LENGTH = 9
# ASCII digits only: str.isdigit() would also accept other scripts' digits and superscripts.
_NINE_ASCII_DIGITS = re.compile(r"[0-9]{9}")
# Weights of the elfproef for digits d1..d9; the check digit d9 counts negatively.
ELFPROEF_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def elfproef_sum(digits: str) -> int:
    return sum(weight * int(digit) for weight, digit in zip(ELFPROEF_WEIGHTS, digits, strict=True))


def is_valid_bsn(value: str) -> bool:
    """Nine ASCII digits, not all zero, whose weighted sum is divisible by eleven."""
    if not isinstance(value, str) or not _NINE_ASCII_DIGITS.fullmatch(value):
        return False
    return value != "0" * BSN_LENGTH and elfproef_sum(value) % 11 == 0
