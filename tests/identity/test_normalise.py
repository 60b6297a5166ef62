"""Name and date folding for matching, and the subject key built from it."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.identity.interfaces import Identifiers
from gateway.identity.normalise import (
    fold,
    normalise_birth_date,
    normalise_family_name,
    normalise_given_names,
    subject_key,
)
from gateway.ports import IdentityError


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Van der Berg", "v.d. Berg"),
        ("van der Berg", "v/d Berg"),
        ("Van den Berg", "vd Berg"),
        ("IJzerman", "Yzerman"),
        ("ĲZERMAN", "yzerman"),
        ("Rijkaard", "Rykaard"),
        ("Müller", "Muller"),
        ("Çelik", "celik"),
        ("  de   Vries ", "De Vries"),
        ("'t Hart", "Hart"),
        ("ter Horst", "Ter  Horst"),
        ("Jansen-van der Berg", "Jansen van der Berg"),
        ("ЩУКИН", "щукин"),
    ],
)
def test_spelling_variants_of_a_family_name_fold_alike(one: str, other: str) -> None:
    assert normalise_family_name(one) == normalise_family_name(other)


def test_prefix_sent_apart_folds_like_prefix_inside_the_name() -> None:
    assert normalise_family_name("Berg", prefix="van der") == normalise_family_name("van der Berg")
    assert normalise_family_name("Berg", prefix="v.d.") == "berg"


@pytest.mark.parametrize(("one", "other"), [("Berg", "Bergh"), ("Vries", "Fries")])
def test_different_family_names_stay_different(one: str, other: str) -> None:
    assert normalise_family_name(one) != normalise_family_name(other)


def test_a_name_made_only_of_tussenvoegsels_is_kept() -> None:
    assert normalise_family_name("De") == "de"
    assert normalise_family_name("Van", prefix="de") == "de van"


def test_given_names_fold_but_keep_their_order() -> None:
    assert normalise_given_names("  Anna-Maria  Ĳsbrand ") == "anna maria ysbrand"
    assert normalise_given_names("Jan Pieter") != normalise_given_names("Pieter Jan")


@given(st.text(max_size=40))
@example("\u210c")  # black-letter H decomposes to "H": casefold after decomposing
@example("İ")  # casefolds to "i" plus a combining dot
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(max_size=40))
def test_folded_text_is_single_spaced_lowercase_words(text: str) -> None:
    folded = fold(text)
    assert folded == " ".join(folded.split())
    assert folded == folded.casefold()


@pytest.mark.parametrize(
    ("raw", "iso"), [("1990-01-02", "1990-01-02"), (" 2001-12-31 ", "2001-12-31")]
)
def test_birth_dates_normalise_to_iso(raw: str, iso: str) -> None:
    assert normalise_birth_date(raw) == iso


@pytest.mark.parametrize("raw", ["02-01-1990", "1990-02-30", "19900102", "1990-1-2", "yesterday"])
def test_other_date_forms_are_refused(raw: str) -> None:
    with pytest.raises(IdentityError):
        normalise_birth_date(raw)


def test_subject_key_is_the_bsn_when_present() -> None:
    with_name: Identifiers = {
        "bsn": "111222333", "family_name": "Jansen", "birth_date": "1980-01-01",
    }
    assert subject_key(with_name) == subject_key({"bsn": "111222333"}) == "bsn:111222333"


def test_subject_key_without_bsn_matches_spelling_variants() -> None:
    one: Identifiers = {
        "family_name": "Van der Berg", "given_names": "Anna  Maria", "birth_date": "1990-01-02",
    }
    other: Identifiers = {
        "prefix": "v.d.", "family_name": "BERG", "given_names": "anna maria",
        "birth_date": "1990-01-02",
    }
    assert subject_key(one) == subject_key(other)
    assert subject_key(one) != subject_key({**one, "birth_date": "1990-01-03"})


@pytest.mark.parametrize(
    "identifiers",
    [
        {},
        {"family_name": "Jansen"},
        {"birth_date": "1980-01-01"},
        {"family_name": "  ", "birth_date": "1980-01-01"},
        {"bsn": "111222334", "family_name": "Jansen", "birth_date": "1980-01-01"},
        {"given_names": "Jan", "nationality": "NLD"},
    ],
)
def test_subject_key_refuses_identifiers_that_name_nobody(identifiers: Identifiers) -> None:
    with pytest.raises(IdentityError):
        subject_key(identifiers)
