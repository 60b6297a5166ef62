"""The spellings linkage treats as one name: transliteration, tussenvoegsels, double names."""

from __future__ import annotations

import pytest

from gateway.linkage.variants import (
    GIVEN_NAME_VARIANTS,
    family_alternatives,
    given_alternatives,
    soundex,
    transliterated,
)


@pytest.mark.parametrize(("written", "ascii_form"), [
    ("Микола Шевченко", "mikola shevchenko"),
    ("Dvořák", "dvorak"),
    ("Ouédraogo", "ouedraogo"),
    ("Øster-Ĳssel", "oster yssel"),
    ("O'Neill", "o neill"),
])
def test_every_script_is_transliterated_and_folded(written: str, ascii_form: str) -> None:
    assert transliterated(written) == ascii_form


@pytest.mark.parametrize(("family_name", "prefix", "alternatives"), [
    ("Brink", "ten", ("brink", "tenbrink")),
    ("Tenbrink", "", ("tenbrink", "brink")),
    ("Berg, van der", "", ("berg", "vanderberg")),
    ("Vanderberg", "", ("vanderberg", "berg")),
    # Which particle "v.d." abbreviates is unknowable, so no attached form is guessed.
    ("v.d. Berg", "", ("berg",)),
    ("Jansen-de Vries", "", ("jansen vries", "jansen", "vries")),
    ("De", "", ("de",)),
    ("Dam", "", ("dam",)),
])
def test_family_names_yield_the_spellings_another_partner_may_use(
    family_name: str, prefix: str, alternatives: tuple[str, ...]
) -> None:
    assert family_alternatives(family_name, prefix) == alternatives


@pytest.mark.parametrize(("one", "other"), [
    ("Mykola", "Nikolai"), ("Микола", "Nikolay"), ("Serhiy", "Sergei"), ("Сергій", "Sergey"),
    ("Oleksandr", "Alexander"), ("Dmytro", "Dmitri"), ("Olena", "Elena"),
    ("Mohamed", "Muhammad"), ("Youssef", "Yusuf"), ("Aïcha", "Aisha"),
])
def test_transliteration_families_share_one_spelling(one: str, other: str) -> None:
    assert given_alternatives(one) == given_alternatives(other)


def test_no_spelling_belongs_to_two_families() -> None:
    members = [name for canonical, variants in GIVEN_NAME_VARIANTS.items()
               for name in (canonical, *variants)]

    assert len(members) == len(set(members))


def test_given_names_yield_the_first_and_all() -> None:
    assert given_alternatives("Jan Pieter") == ("jan", "jan pieter")
    assert given_alternatives("Mykola Petrovych") == ("nikolai", "nikolai petrovych")
    assert given_alternatives("  ") == ()


@pytest.mark.parametrize(("name", "code"), [
    ("robert", "r163"), ("rupert", "r163"), ("vries", "v620"), ("ashcraft", "a261"),
    ("tymczak", "t522"), ("pfister", "p236"), ("", ""),
])
def test_soundex(name: str, code: str) -> None:
    assert soundex(name) == code
