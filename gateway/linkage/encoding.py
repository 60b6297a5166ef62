"""Keyed field-level Bloom filters of persons, their match score, and their blocking keys.

A person's encoding is a row of fixed-size segments, one keyed Bloom filter per field and per
spelling alternative (:mod:`gateway.linkage.variants`):

* up to four spellings of the family name and two of the given names (the first, and all), as
  padded bigrams plus letters numbered by occurrence (a swap of neighbouring letters keeps all
  letters). Family and given names share one feature space, so a record that swapped them can
  be compared across;
* the birth date in two segments: the day/month as an unordered pair (so 02-04 and 04-02 encode
  alike) with both parts, and the year with each of its digits in place (a typo in the year
  keeps three of four). A date that is not a calendar date (a corrupted 1956-02-31) still gives
  its parts;
* the address (bigrams of its words), the document number (bigrams of its letters and digits)
  and the nationality.

Each bit position of a feature is an HMAC-SHA256 of the feature under the linkage key, so
without the key nobody can compute which bits a name or date sets (no dictionary attack on the
stored filters), and blocking keys are keyed hashes too. No name, date or number is stored.

Keying alone does not stop frequency attacks: a feature sets the same bits in every filter, so
whoever holds the table could group persons by identical date segments, or align the most
frequent name bits with public name statistics. Field-level segments would make that easy.
The hardening chosen is to store filters only sealed (AES-256-GCM under a key derived from the
linkage key, bound to the subject id, :meth:`BloomEncoder.sealed`): the table holds no bit
pattern to count, and a filter moved to another subject or altered does not open. Salting or
XOR-folding would have cost linkage quality while the gateway, which compares, holds the key
anyway. What remains visible is which subjects share a blocking bucket (a bucket is a keyed
hash, so equality within a scheme shows, not the value); README, "Fuzzy linkage of persons".

Scoring (:func:`match_score`) compares field by field: the Dice coefficient of two segments
(best over the spelling alternatives) becomes a log-likelihood ratio between the field's
"disagree" and "agree" weights (:data:`FIELD_WEIGHTS`); the ratios add up with a prior to a
match probability. A field either record lacks counts neither way, so a record without an
address or a birth date can still link on the rest. Two records whose given names clearly
differ are never one person, however well names, date and address agree, unless they carry
the same document number: that is what twins look like (same family name, birth date,
address, different documents), and a false link discloses the wrong person's data.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.identity.interfaces import Identifiers
from gateway.linkage.variants import (
    family_alternatives,
    given_alternatives,
    soundex,
    transliterated,
)

FAMILY_SLOTS = 4
GIVEN_SLOTS = 2
NAME_BITS = 512
# Segment name and size in bits, in storage order.
SEGMENTS: tuple[tuple[str, int], ...] = (
    *((f"family{i}", NAME_BITS) for i in range(FAMILY_SLOTS)),
    *((f"given{i}", NAME_BITS) for i in range(GIVEN_SLOTS)),
    ("day-month", 256), ("year", 256), ("address", 1024), ("document", 256), ("nationality", 64),
)
FILTER_BITS = sum(bits for _, bits in SEGMENTS)
FILTER_BYTES = FILTER_BITS // 8
# Bits each feature sets in its segment. A year keeps three of its four digits through a typo.
BITS_PER_FEATURE = {
    "bigram": 4, "letter": 3, "day-month": 10, "day-or-month": 2, "year": 6, "year-digit": 4,
    "address": 4, "document": 4, "nationality": 8,
}
# The match probability from which a pair is proposed to the reviewers.
DEFAULT_THRESHOLD = 0.80
# Features repeat across persons; caching their bit masks is what makes encoding fast.
FEATURE_CACHE_SIZE = 1 << 16
BLOCK_KEY_BYTES = 16
NONCE_BYTES = 12
SEALED_FILTER_BYTES = NONCE_BYTES + FILTER_BYTES + 16  # nonce, filter, GCM tag
# Two digest bytes per bit position.
POSITIONS_PER_DIGEST = 16
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
MIN_IDENTIFYING_FIELDS = 2


class Weight(NamedTuple):
    """A field's log2-likelihood ratio at or below ``low`` similarity (``disagree``) and at or
    above ``high`` (``agree``), linear in between."""

    agree: float
    disagree: float
    low: float
    high: float

    def of(self, similarity: float) -> float:
        share = min(1.0, max(0.0, (similarity - self.low) / (self.high - self.low)))
        return self.disagree + share * (self.agree - self.disagree)


# Agreement on a rare identifier weighs more than on a common one; disagreement on what changes
# over a life (address, document, nationality) weighs little. Hand-set, then checked on both
# benchmarks (README, "Fuzzy linkage of persons").
FIELD_WEIGHTS = {
    "family": Weight(agree=7.0, disagree=-5.0, low=0.35, high=0.80),
    "given": Weight(agree=6.0, disagree=-6.0, low=0.35, high=0.80),
    # A typo in the year (three digits of four) still counts against, but far less than
    # another year; a wrong day or month counts against as much as another date.
    "day-month": Weight(agree=6.0, disagree=-4.0, low=0.30, high=1.0),
    "year": Weight(agree=4.0, disagree=-5.0, low=0.40, high=1.0),
    "address": Weight(agree=5.0, disagree=-1.0, low=0.30, high=0.80),
    "document": Weight(agree=8.0, disagree=-2.0, low=0.40, high=0.85),
    "nationality": Weight(agree=0.5, disagree=-2.0, low=0.50, high=0.90),
}
# Odds that two records are one person before any field is compared. Names and date agreeing
# (+23) outweigh it by far; names alone (+13) or a date alone (+10) do not.
PRIOR_LOG2_ODDS = -14.0
NAMES_AGREE = FIELD_WEIGHTS["family"].agree + FIELD_WEIGHTS["given"].agree
# Given names this different (after variant spelling) make two persons, whatever else agrees.
DISTINCT_GIVEN_NAMES = 0.45


@dataclass(frozen=True)
class Encoding:
    bloom: int
    blocks: frozenset[str]


@dataclass(frozen=True)
class Normalised:
    family: tuple[str, ...]
    given: tuple[str, ...]
    year: str
    day_month: str
    address: str
    document: str
    nationality: str

    def identifying_fields(self) -> int:
        return sum(map(bool, (self.family, self.given, self.year, self.document)))


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


class Segment(NamedTuple):
    start: int
    bits: int
    mask: int


def _offsets() -> dict[str, Segment]:
    offsets, start = {}, 0
    for name, bits in SEGMENTS:
        offsets[name] = Segment(start, bits, (1 << bits) - 1)
        start += bits
    return offsets


OFFSETS = _offsets()
_SPLIT = tuple((name, start, mask) for name, (start, _, mask) in OFFSETS.items())


def segments(bloom: int) -> dict[str, int]:
    return {name: (bloom >> start) & mask for name, start, mask in _SPLIT}


class BloomEncoder:
    """Encodes identities under one linkage key; instances are safe to share between threads."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._seal = AESGCM(hmac.digest(key, b"seal-filters", hashlib.sha256))
        self._mask = functools.lru_cache(maxsize=FEATURE_CACHE_SIZE)(self._feature_mask)
        self._value_mask = functools.lru_cache(maxsize=FEATURE_CACHE_SIZE)(self._all_features)
        self._block_key = functools.lru_cache(maxsize=FEATURE_CACHE_SIZE)(self._keyed_block)

    def encode(self, identifiers: Identifiers) -> Encoding | None:
        """The filters and blocking keys; None when fewer than two of family name, given
        names, birth date and document number are there to link on."""
        person = normalised(identifiers)
        if person.identifying_fields() < MIN_IDENTIFYING_FIELDS:
            return None
        bloom = 0
        for segment, expansion, value in _values(person):
            start, bits, _ = OFFSETS[segment]
            bloom |= self._value_mask(expansion, value, bits) << start
        return Encoding(bloom, frozenset(self._block_key(b) for b in _blocks(person)))

    def sealed(self, bloom: int, subject_id: str) -> bytes:
        """The filter as stored: encrypted and bound to its subject."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._seal.encrypt(nonce, to_bytes(bloom), subject_id.encode())

    def opened(self, sealed: bytes, subject_id: str) -> int | None:
        """The filter stored for ``subject_id``; None when it was altered or belongs to
        another subject, so it is compared with nothing."""
        try:
            raw = self._seal.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                     subject_id.encode())
        except InvalidTag:
            return None
        return from_bytes(raw)

    def _all_features(self, expansion: str, value: str, bits: int) -> int:
        """The bits of every feature of one value (a name, an address word, a year)."""
        mask = 0
        for kind, feature in EXPANSIONS[expansion](value):
            mask |= self._mask(kind, feature, bits)
        return mask

    def _feature_mask(self, kind: str, value: str, bits: int) -> int:
        positions = BITS_PER_FEATURE[kind]
        stream = b"".join(
            hmac.digest(self._key, f"{kind}:{block}:{value}".encode(), hashlib.sha256)
            for block in range(-(-positions // POSITIONS_PER_DIGEST))
        )
        mask = 0
        for i in range(positions):
            mask |= 1 << (int.from_bytes(stream[2 * i : 2 * i + 2], "big") % bits)
        return mask

    def _keyed_block(self, name: str) -> str:
        digest = hmac.digest(self._key, f"block:{name}".encode(), hashlib.sha256)
        return digest[:BLOCK_KEY_BYTES].hex()


def normalised(identifiers: Identifiers) -> Normalised:
    year, day_month = _date_parts(identifiers.get("birth_date", ""))
    return Normalised(
        family=family_alternatives(identifiers.get("family_name", ""),
                                   identifiers.get("prefix", ""))[:FAMILY_SLOTS],
        given=given_alternatives(identifiers.get("given_names", ""))[:GIVEN_SLOTS],
        year=year,
        day_month=day_month,
        address=transliterated(identifiers.get("address", "")),
        document=transliterated(identifiers.get("document_number", "")).replace(" ", ""),
        nationality=transliterated(identifiers.get("nationality", "")),
    )


def _date_parts(birth_date: str) -> tuple[str, str]:
    """Year and unordered day/month of YYYY-MM-DD, calendar-valid or not; blanks otherwise."""
    written = _DATE.fullmatch(birth_date.strip())
    if written is None:
        return "", ""
    year, month, day = written.groups()
    return year, "-".join(sorted((day, month)))


Features = list[tuple[str, str]]


def _values(person: Normalised) -> Iterable[tuple[str, str, str]]:
    """Segment, kind of value and value: the units whose feature bits are cached together."""
    for slot, name in enumerate(person.family):
        yield f"family{slot}", "name", name
    for slot, name in enumerate(person.given):
        yield f"given{slot}", "name", name
    if person.year:
        yield "day-month", "day-month", person.day_month
        yield "year", "year", person.year
    for word in set(person.address.split()):
        yield "address", "address", word
    if person.document:
        yield "document", "document", person.document
    if person.nationality:
        yield "nationality", "nationality", person.nationality


def _name_features(name: str) -> Features:
    return [*(("bigram", b) for b in bigrams(name)), *(("letter", x) for x in letters(name))]


def _bigram_features(kind: str) -> Callable[[str], Features]:
    return lambda text: [(kind, b) for b in bigrams(text)]


def _day_month_features(day_month: str) -> Features:
    return [("day-month", day_month),
            *(("day-or-month", part) for part in day_month.split("-"))]


def _year_features(year: str) -> Features:
    return [("year", year),
            *(("year-digit", f"{place}:{digit}") for place, digit in enumerate(year))]


EXPANSIONS: dict[str, Callable[[str], Features]] = {
    "name": _name_features,
    "day-month": _day_month_features,
    "year": _year_features,
    "address": _bigram_features("address"),
    "document": _bigram_features("document"),
    "nationality": lambda nationality: [("nationality", nationality)],
}


def _blocks(person: Normalised) -> set[str]:
    """Bucket names: records sharing one are compared. Each scheme survives an error the others
    do not: the birth date alone (a misspelt or missing name), a family-name sound with the
    year (a wrong day) or with the day/month (a wrong year), the two name sounds in either
    order (a wrong or missing date, swapped names), the document number."""
    family_sounds = {soundex(name) for name in person.family}
    given_sound = soundex(person.given[0]) if person.given else ""
    raw = {f"document:{person.document}"} if person.document else set()
    if person.year:
        raw.add(f"date:{person.year}:{person.day_month}")
        raw.update(f"family-year:{sound}:{person.year}" for sound in family_sounds)
        raw.update(f"family-day-month:{sound}:{person.day_month}" for sound in family_sounds)
    if given_sound:
        raw.update("names:" + ":".join(sorted((sound, given_sound))) for sound in family_sounds)
    return raw


@dataclass(frozen=True)
class Comparison:
    """How two encodings compare: each field's similarity (None: a record lacks the field)
    and the match probability."""

    similarities: dict[str, float | None]
    probability: float


def compare(left: int, right: int) -> Comparison:
    one, other = segments(left), segments(right)
    family_a, family_b = _slots(one, "family", FAMILY_SLOTS), _slots(other, "family", FAMILY_SLOTS)
    given_a, given_b = _slots(one, "given", GIVEN_SLOTS), _slots(other, "given", GIVEN_SLOTS)
    similarities = _names(_best(family_a, family_b), _best(given_a, given_b))
    if _weight(similarities) < NAMES_AGREE:  # only then can the swapped order do better
        swapped = _names(_best(family_a, given_b), _best(given_a, family_b))
        similarities = max(similarities, swapped, key=_weight)
    for field in ("day-month", "year", "address", "document", "nationality"):
        similarities[field] = _best(_present(one[field]), _present(other[field]))
    if _distinct_persons(similarities):
        return Comparison(similarities, 0.0)
    log2_odds = PRIOR_LOG2_ODDS + _weight(similarities)
    return Comparison(similarities, 1 / (1 + math.pow(2.0, -log2_odds)))


AGREED, PARTLY, DISAGREED, MISSING = "agreed", "partly", "disagreed", "missing"
#: What a reviewer is told about each field of a candidate pair; never a value.
AGREEMENTS = (AGREED, PARTLY, DISAGREED, MISSING)
COMPARED_FIELDS = ("family", "given", "day-month", "year", "address", "document", "nationality")


def agreement(comparison: Comparison) -> dict[str, str]:
    """Per field, whether the two records agreed: at or above the field's "agree" similarity,
    at or below its "disagree" similarity, in between, or absent from either record."""
    verdicts = {}
    for field in COMPARED_FIELDS:
        similarity, weight = comparison.similarities[field], FIELD_WEIGHTS[field]
        if similarity is None:
            verdicts[field] = MISSING
        elif similarity >= weight.high:
            verdicts[field] = AGREED
        else:
            verdicts[field] = DISAGREED if similarity <= weight.low else PARTLY
    return verdicts


def match_score(left: int, right: int) -> float:
    """The probability that two encodings are one person."""
    return compare(left, right).probability


def _distinct_persons(similarities: dict[str, float | None]) -> bool:
    """Clearly different given names, and no identical document number to say otherwise
    (twins carry different documents; a partner that wrote the wrong given name did not)."""
    given = similarities["given"]
    return (given is not None and given < DISTINCT_GIVEN_NAMES
            and similarities["document"] != 1.0)


def _names(family: float | None, given: float | None) -> dict[str, float | None]:
    return {"family": family, "given": given}


def _weight(similarities: dict[str, float | None]) -> float:
    return sum(FIELD_WEIGHTS[field].of(similarity)
               for field, similarity in similarities.items() if similarity is not None)


def _slots(parts: dict[str, int], field: str, count: int) -> list[int]:
    return [parts[f"{field}{i}"] for i in range(count) if parts[f"{field}{i}"]]


def _present(segment: int) -> list[int]:
    return [segment] if segment else []


def _best(left: list[int], right: list[int]) -> float | None:
    if not left or not right:
        return None
    return max(dice(a, b) for a in left for b in right)
