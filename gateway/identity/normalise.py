"""Normalised names and dates, and the subject key that says "this is the same person".

Two partners write the same person differently: "Van der Berg", "v.d. Berg", "BERG, van der";
"Rijk" and "Ryk"; "Müller" and "Muller". Matching therefore compares a folded form:

* casefold, decompose and drop diacritics (also for Cyrillic and other scripts); the Dutch
  ligature "ĳ" decomposes to "ij";
* fold "ij" to "y", the usual Dutch spelling variation;
* every character that is not a letter or digit separates words (hyphens, apostrophes, periods,
  slashes), and whitespace collapses;
* tussenvoegsels ("van", "der", "de", "ter", "'t", abbreviations such as "v." and "v.d.") are left
  out of the family name, whether they were sent in ``prefix`` or inside ``family_name``. Which of
  "de", "der" or "den" an abbreviation "v.d." stands for is unknowable, and Dutch registers sort
  on the name without its tussenvoegsels too, so only the significant part of the name is
  compared. A family name made of tussenvoegsels alone (a person called "De") keeps them.

Folding loses distinctions ("Van Berg" and "Berg" fold alike), which is why the key for a person
without a BSN also carries the given names and the birth date.
"""

from __future__ import annotations

import unicodedata
from typing import cast

from gateway.identity.bsn import is_valid_bsn
from gateway.identity.interfaces import (
    PARTIAL_NAME_FIELDS,
    Identifiers,
    names_a_person,
    parse_iso_date,
)
from gateway.ports import IdentityError

# Dutch, Flemish, French and German name particles as they appear in Dutch registers, plus the
# abbreviations partners use for them, all in folded form ("'t" folds to "t", "v.d." to "v d").
TUSSENVOEGSELS = frozenset(
    {
        "aan", "bij", "d", "da", "de", "del", "den", "der", "des", "di", "dos", "du", "het",
        "in", "l", "la", "le", "les", "onder", "op", "over", "s", "t", "te", "ten", "ter",
        "uit", "v", "van", "vd", "vden", "vder", "voor", "von", "zu", "zum", "zur",
    }
)


def fold(text: str) -> str:
    """Casefolded, diacritic-free, ij→y, punctuation as spaces, whitespace collapsed."""
    # Decompose before and after casefolding: compatibility forms such as U+210C (black-letter
    # capital H) only become a cased letter once decomposed, and casefolding can itself produce
    # combining marks ("İ" casefolds to "i" and a combining dot).
    decomposed = unicodedata.normalize(
        "NFKD", unicodedata.normalize("NFKD", text).casefold()
    )
    letters = "".join(
        character if character.isalnum() else " "
        for character in decomposed
        if not unicodedata.combining(character)
    )
    return " ".join(letters.replace("ij", "y").split())


def normalise_family_name(family_name: str, prefix: str = "") -> str:
    """The significant part of a family name: folded, without tussenvoegsels."""
    words = fold(f"{prefix} {family_name}").split()
    significant = [word for word in words if word not in TUSSENVOEGSELS]
    return " ".join(significant or words)


def normalise_given_names(given_names: str) -> str:
    return fold(given_names)


def normalise_birth_date(birth_date: str) -> str:
    try:
        return parse_iso_date(birth_date.strip()).isoformat()
    except ValueError:
        raise IdentityError("birth_date is not an ISO date (YYYY-MM-DD)") from None


def normalise_postcode(postcode: str) -> str:
    """``3011 ab`` and ``3011AB`` alike: upper case, no space."""
    return "".join(postcode.split()).upper()


def location_key(identifiers: Identifiers) -> str:
    """The matching key of an address: postcode, house number and addition, normalised.

    The BAG id and the description ("achterhuis") are left out: partners rarely both have
    the BAG id, and two descriptions of one address are still one address.
    """
    postcode = normalise_postcode(identifiers.get("postcode", ""))
    number = identifiers.get("house_number", "").strip()
    addition = fold(identifiers.get("house_number_addition", "")).replace(" ", "")
    if not postcode or not number:
        raise IdentityError("a location needs a postcode and a house_number")
    return f"loc:{postcode}|{number}|{addition}"


def organisation_key(identifiers: Identifiers) -> str:
    """The matching key of an organisation: its KvK number (the legal entity)."""
    kvk_number = identifiers.get("kvk_number", "").strip()
    if not kvk_number:
        raise IdentityError("an organisation needs a kvk_number")
    return f"kvk:{kvk_number}"


def subject_kind(identifiers: Identifiers) -> str:
    """The kind of subject the identifiers describe; their fields never overlap."""
    if "kvk_number" in identifiers:
        return "organisatie"
    if "postcode" in identifiers:
        return "locatie"
    return "persoon"


def is_low_confidence(identifiers: Identifiers) -> bool:
    """A person described only partially, by a name (a first name, a nickname) but without
    what identifies them for certain: there is no stable key."""
    present = {name for name, value in identifiers.items() if str(value).strip()}
    return (subject_kind(identifiers) == "persoon" and not names_a_person(present)
            and bool(present & PARTIAL_NAME_FIELDS))


def subject_key(identifiers: Identifiers) -> str:
    """The matching key of a subject: of a location and an organisation their normalised
    address or KvK number; of a person the BSN when there is one, else name and birth date.

    A BSN that is present but fails the elfproef is an error, not a reason to fall back to the
    name: it means the identifiers were never validated, and matching on them would be a guess.
    """
    kind = subject_kind(identifiers)
    if kind == "locatie":
        return location_key(identifiers)
    if kind == "organisatie":
        return organisation_key(identifiers)
    bsn = identifiers.get("bsn")
    if bsn is not None:
        if not is_valid_bsn(bsn):
            raise IdentityError("bsn is not a valid BSN (elfproef)")
        return f"bsn:{bsn}"
    family_name = identifiers.get("family_name", "")
    birth_date = identifiers.get("birth_date", "")
    if not family_name.strip() or not birth_date.strip():
        raise IdentityError("a person needs a valid bsn, or a family_name and a birth_date")
    name = normalise_family_name(family_name, identifiers.get("prefix", ""))
    given = normalise_given_names(identifiers.get("given_names", ""))
    return f"name:{name}|{given}|{normalise_birth_date(birth_date)}"


def subject_keys(identifiers: Identifiers) -> set[str]:
    """Every matching key the identifiers carry: the BSN's, and that of name and birth date
    when both are there (:func:`subject_key` picks the first). Empty when they name nobody."""
    keys = set()
    for part in ({"bsn": identifiers["bsn"]} if "bsn" in identifiers else None,
                 {k: v for k, v in identifiers.items() if k != "bsn"}):
        if part is None:
            continue
        try:
            keys.add(subject_key(cast(Identifiers, part)))
        except IdentityError:
            continue
    return keys
