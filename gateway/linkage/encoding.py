"""Keyed record-level Bloom filters of persons, their similarity, and their blocking keys.

A person's filter (1024 bits) sets, for every feature of their identity, a few bit positions
chosen by an HMAC-SHA256 of that feature under the linkage key. The features are:

* bigrams of the normalised family name (folded as the vault folds it: without tussenvoegsels,
  so "v.d. Berg" is "Berg"; ij as y; no diacritics) padded with ``_``, so first and last letters
  count as much as the middle, plus its letters numbered by occurrence, which a swap of two
  neighbouring letters leaves intact;
* bigrams of the first given name, and (lightly) of further given names;
* the birth year, the birth day and month as an unordered pair, and both together, so a record
  that swapped day and month (02-04 against 04-02) encodes its date exactly like the original.

Similarity is the Dice coefficient of two filters. Without the key nobody can compute which bits
a name sets, so a filter is no dictionary-attackable hash of a name; with the key a filter still
does not give the name back, only a fuzzy fingerprint of it.

Comparing every pair would be quadratic, so :meth:`BloomEncoder.encode` also gives each person
a few keyed bucket names (birth year with the first letter of either name, the day/month pair
with the first letter of the family name), and only persons sharing a bucket are compared. One
corrupted field does not lose a match: another bucket still brings the pair together.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass

from gateway.identity.interfaces import Identifiers, parse_iso_date
from gateway.identity.normalise import normalise_family_name, normalise_given_names

FILTER_BITS = 1024
FILTER_BYTES = FILTER_BITS // 8
# Bits set per feature, tuned on bench/linkage_bench.py. Names carry about two thirds of the
# bits and the date one third: two namesakes born on different days must stay apart, and the
# full date ("date") counts on top of its parts, so agreeing on year and day/month together
# weighs more than agreeing on either. A second given name weighs little because partners
# often send only the first.
BITS_PER_FEATURE = {
    "family": 12, "family-letter": 4, "given": 14, "more-given": 4,
    "year": 25, "day-month": 30, "date": 45,
}
DEFAULT_THRESHOLD = 0.80
# Bigram features repeat across persons; caching their bit masks is what makes encoding fast.
# The feature space is bounded (two fields times the bigrams of folded letters, plus dates).
FEATURE_CACHE_SIZE = 1 << 16
BLOCK_KEY_BYTES = 16
# Two digest bytes per bit position (0..65535 modulo 1024 is as good as uniform).
POSITIONS_PER_DIGEST = 16


@dataclass(frozen=True)
class Encoding:
    bloom: int
    blocks: frozenset[str]


def bigrams(text: str) -> set[str]:
    padded = f"_{text.replace(' ', '_')}_"
    return {padded[i : i + 2] for i in range(len(padded) - 1)}


def letters(text: str) -> set[str]:
    """Letters numbered by occurrence ("anna": a1, n1, n2, a2): order-free, so a swap of two
    neighbouring letters, which costs two bigrams, costs no letters."""
    seen: dict[str, int] = {}
    numbered = set()
    for character in text.replace(" ", ""):
        seen[character] = seen.get(character, 0) + 1
        numbered.add(f"{character}{seen[character]}")
    return numbered


def dice(left: int, right: int) -> float:
    total = left.bit_count() + right.bit_count()
    return 2 * (left & right).bit_count() / total if total else 0.0


def to_bytes(bloom: int) -> bytes:
    return bloom.to_bytes(FILTER_BYTES, "big")


def from_bytes(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


class BloomEncoder:
    """Encodes identities under one linkage key; instances are safe to share between threads."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._mask = functools.lru_cache(maxsize=FEATURE_CACHE_SIZE)(self._feature_mask)
        self._block_key = functools.lru_cache(maxsize=FEATURE_CACHE_SIZE)(self._keyed_block)

    def encode(self, identifiers: Identifiers) -> Encoding | None:
        """The filter and blocking keys; None when there is no family name and birth date."""
        parts = _parts(identifiers)
        if parts is None:
            return None
        family, given, year, day_month = parts
        first_given, _, more_given = given.partition(" ")
        mask = self._mask
        bloom = mask("year", year) | mask("day-month", day_month)
        bloom |= mask("date", f"{year}:{day_month}")
        for bigram in bigrams(family):
            bloom |= mask("family", bigram)
        for letter in letters(family):
            bloom |= mask("family-letter", letter)
        for bigram in bigrams(first_given) if first_given else ():
            bloom |= mask("given", bigram)
        for bigram in bigrams(more_given) if more_given else ():
            bloom |= mask("more-given", bigram)
        return Encoding(bloom, self._blocks(family, given, year, day_month))

    def _feature_mask(self, field: str, value: str) -> int:
        positions = BITS_PER_FEATURE[field]
        stream = b"".join(
            hmac.digest(self._key, f"{field}:{block}:{value}".encode(), hashlib.sha256)
            for block in range(-(-positions // POSITIONS_PER_DIGEST))
        )
        mask = 0
        for i in range(positions):
            mask |= 1 << (int.from_bytes(stream[2 * i : 2 * i + 2], "big") % FILTER_BITS)
        return mask

    def _blocks(self, family: str, given: str, year: str, day_month: str) -> frozenset[str]:
        raw = {f"year-family:{year}:{family[:1]}", f"day-month-family:{day_month}:{family[:1]}"}
        if given:
            raw.add(f"year-given:{year}:{given[:1]}")
        return frozenset(self._block_key(name) for name in raw)

    def _keyed_block(self, name: str) -> str:
        digest = hmac.digest(self._key, f"block:{name}".encode(), hashlib.sha256)
        return digest[:BLOCK_KEY_BYTES].hex()


def _parts(identifiers: Identifiers) -> tuple[str, str, str, str] | None:
    family_name = identifiers.get("family_name", "")
    birth_date = identifiers.get("birth_date", "")
    if not family_name.strip() or not birth_date.strip():
        return None
    try:
        born = parse_iso_date(birth_date.strip())
    except ValueError:
        return None
    family = normalise_family_name(family_name, identifiers.get("prefix", ""))
    given = normalise_given_names(identifiers.get("given_names", ""))
    day_month = "-".join(sorted((f"{born.day:02d}", f"{born.month:02d}")))
    return family, given, str(born.year), day_month
