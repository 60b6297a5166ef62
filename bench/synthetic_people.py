"""A synthetic, corrupted, Dutch-style population for measuring fuzzy person linkage.

    python bench/synthetic_people.py [--people 1000] [--seed 7]   # prints a sample

Nothing here is a real person: names are drawn independently from short lists of common Dutch
and migrant given names and family names, birth dates uniformly from 1950-01-01 to 2008-12-31.
The lists are short on purpose, so distinct persons often share a family name, a given name or a
birth year, as siblings and namesakes do; that is what makes precision hard.

Corruption model. Each original person gets one duplicate record (as a second partner would
send it), to which every corruption below applies independently with its probability; a
duplicate that drew none gets one typo in the family name, so every pair differs somewhere:

==========================  ====  =====================================================
corruption                  p     what it does
==========================  ====  =====================================================
family-name typo            0.30  one edit: insert, delete, substitute or swap adjacent
given-names typo            0.20  one edit, as above
ij / y                      0.50  "ij" written "y" or the reverse, where the name has one
tussenvoegsel written       0.50  "van der" as "v.d.", "vd", inside the family name
differently                       ("van der Berg") or after it ("Berg, van der")
transliteration             0.50  a transliteration variant (Mohammed/Mohamed/Muhammad,
                                  Aleksandr/Alexander, ...), where the name has one
second given name dropped   0.20  "Jan Pieter" becomes "Jan", where there are two
day and month swapped       0.15  2001-04-07 becomes 2001-07-04, where both are <= 12
birth year typo             0.05  the year off by one
case and diacritics         0.30  upper case, or diacritics dropped ("Müller" -> "Muller")
==========================  ====  =====================================================

Ground truth is the ``person`` number: two records are the same person exactly when their
numbers are equal.
"""

from __future__ import annotations

import argparse
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

GIVEN_NAMES = (
    "Jan", "Pieter", "Kees", "Willem", "Hendrik", "Johannes", "Cornelis", "Gerrit", "Dirk",
    "Bram", "Daan", "Sem", "Lucas", "Thijs", "Ruben", "Bas", "Joost", "Rik", "Marijke", "Anna",
    "Maria", "Johanna", "Elisabeth", "Sanne", "Lotte", "Eva", "Femke", "Ilse", "Anouk", "Iris",
    "Fleur", "Lieke", "Wilma", "Ineke", "Marieke", "Mohammed", "Youssef", "Fatima", "Aicha",
    "Aleksandr", "Olena", "Dmitri", "Natalia", "Andrzej", "Katarzyna", "Nguyen", "Mehmet",
    "Ayşe", "Zoë", "Chloë", "Stijn", "Thijmen", "Rijk", "Mirjam",
)
FAMILY_NAMES = (
    ("", "Jansen"), ("de", "Vries"), ("van den", "Berg"), ("van", "Dijk"), ("", "Bakker"),
    ("", "Janssen"), ("", "Visser"), ("", "Smit"), ("", "Meijer"), ("de", "Boer"),
    ("", "Mulder"), ("de", "Groot"), ("", "Bos"), ("", "Vos"), ("", "Peters"),
    ("", "Hendriks"), ("van", "Leeuwen"), ("", "Dekker"), ("", "Brouwer"), ("de", "Wit"),
    ("", "Dijkstra"), ("", "Smits"), ("de", "Graaf"), ("van der", "Meer"), ("van der", "Linden"),
    ("", "Kok"), ("", "Jacobs"), ("de", "Haan"), ("", "Vermeulen"), ("van den", "Heuvel"),
    ("van der", "Veen"), ("van den", "Broek"), ("de", "Bruijn"), ("de", "Jong"),
    ("", "Schouten"), ("van", "Beek"), ("", "Willems"), ("", "IJzerman"), ("van", "Vliet"),
    ("", "Hoekstra"), ("", "Maas"), ("", "Verhoeven"), ("", "Koster"), ("van", "Wijk"),
    ("", "El Amrani"), ("", "Yilmaz"), ("", "Kowalski"), ("", "Nowak"), ("", "Müller"),
    ("", "Ivanov"), ("", "Shevchenko"), ("", "Tran"), ("", "Bouzid"), ("", "Öztürk"),
    ("", "Rijnders"), ("", "Vrijman"), ("ter", "Horst"), ("", "Pietersen"),
)
TRANSLITERATIONS = (
    ("Mohammed", "Mohamed", "Muhammad", "Mohammad"), ("Youssef", "Yusuf", "Youssouf"),
    ("Aicha", "Aisha", "Aïcha"), ("Aleksandr", "Alexander", "Oleksandr"),
    ("Olena", "Elena", "Alena"), ("Dmitri", "Dmitry", "Dmytro"), ("Natalia", "Nataliya"),
    ("Ivanov", "Iwanow"), ("Shevchenko", "Sjevtsjenko", "Chevtchenko"),
    ("Öztürk", "Oeztuerk", "Ozturk"), ("Müller", "Mueller"), ("Mehmet", "Mehmed"),
    ("Fatima", "Fatma"), ("Andrzej", "Andrej"),
)
TUSSENVOEGSEL_ABBREVIATIONS = {"van der": ("v.d.", "vd", "v/d"), "van den": ("v.d.", "vd"),
                               "van": ("v.",), "de": ("d'",), "ter": ("t'",)}
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
FIRST_BIRTH_DATE = date(1950, 1, 1)
BIRTH_DATE_SPAN_DAYS = (date(2008, 12, 31) - FIRST_BIRTH_DATE).days


@dataclass(frozen=True)
class Record:
    person: int
    identifiers: dict[str, str]


def population(people: int, seed: int) -> list[Record]:
    """``people`` originals, each followed by its corrupted duplicate."""
    rng = random.Random(seed)
    records = []
    for person in range(people):
        original = _person(rng)
        records.append(Record(person, original))
        records.append(Record(person, _corrupted(rng, original)))
    return records


def _person(rng: random.Random) -> dict[str, str]:
    prefix, family = rng.choice(FAMILY_NAMES)
    given = rng.choice(GIVEN_NAMES)
    if rng.random() < 0.3:
        given = f"{given} {rng.choice(GIVEN_NAMES)}"
    born = FIRST_BIRTH_DATE + timedelta(days=rng.randrange(BIRTH_DATE_SPAN_DAYS))
    identifiers = {"family_name": family, "given_names": given, "birth_date": born.isoformat()}
    if prefix:
        identifiers["prefix"] = prefix
    return identifiers


def _corrupted(rng: random.Random, original: dict[str, str]) -> dict[str, str]:
    record = dict(original)
    changed = False
    for probability, corruption in CORRUPTIONS:
        if rng.random() < probability:
            changed |= corruption(rng, record)
    if not changed:
        record["family_name"] = _typo(rng, record["family_name"])
    return record


def _typo(rng: random.Random, text: str) -> str:
    position = rng.randrange(len(text))
    edit = rng.choice(("insert", "delete", "substitute", "swap"))
    if edit == "insert":
        return text[:position] + rng.choice(ALPHABET) + text[position:]
    if edit == "delete" and len(text) > 2:
        return text[:position] + text[position + 1 :]
    if edit == "swap" and position < len(text) - 1:
        return text[:position] + text[position + 1] + text[position] + text[position + 2 :]
    return text[:position] + rng.choice(ALPHABET) + text[position + 1 :]


def _family_typo(rng: random.Random, record: dict[str, str]) -> bool:
    record["family_name"] = _typo(rng, record["family_name"])
    return True


def _given_typo(rng: random.Random, record: dict[str, str]) -> bool:
    record["given_names"] = _typo(rng, record["given_names"])
    return True


def _ij_y(rng: random.Random, record: dict[str, str]) -> bool:
    field = rng.choice(("family_name", "given_names"))
    text = record[field]
    if "ij" in text.lower():
        record[field] = text.replace("ij", "y").replace("IJ", "Y").replace("Ij", "Y")
    elif "y" in text.lower():
        record[field] = text.replace("y", "ij").replace("Y", "IJ")
    return record[field] != text


def _tussenvoegsel(rng: random.Random, record: dict[str, str]) -> bool:
    prefix = record.pop("prefix", "")
    if not prefix:
        return False
    written = rng.choice((prefix, *TUSSENVOEGSEL_ABBREVIATIONS.get(prefix, ())))
    style = rng.choice(("inside", "after", "field"))
    if style == "inside":
        record["family_name"] = f"{written.capitalize()} {record['family_name']}"
    elif style == "after":
        record["family_name"] = f"{record['family_name']}, {written}"
    else:
        record["prefix"] = written
    return True


def _transliteration(rng: random.Random, record: dict[str, str]) -> bool:
    changed = False
    for field in ("family_name", "given_names"):
        words = record[field].split(" ")
        for index, word in enumerate(words):
            variants = next((v for v in TRANSLITERATIONS if word in v), None)
            if variants:
                words[index] = rng.choice([v for v in variants if v != word])
                changed = True
        record[field] = " ".join(words)
    return changed


def _drop_second_given_name(rng: random.Random, record: dict[str, str]) -> bool:
    names = record["given_names"].split(" ")
    if len(names) < 2:
        return False
    record["given_names"] = names[0]
    return True


def _swap_day_month(rng: random.Random, record: dict[str, str]) -> bool:
    year, month, day = record["birth_date"].split("-")
    if int(day) > 12 or day == month:
        return False
    record["birth_date"] = f"{year}-{day}-{month}"
    return True


def _year_typo(rng: random.Random, record: dict[str, str]) -> bool:
    born = date.fromisoformat(record["birth_date"])
    try:
        shifted = born.replace(year=born.year + rng.choice((-1, 1)))
    except ValueError:  # 29 February
        return False
    record["birth_date"] = shifted.isoformat()
    return True


def _case_and_diacritics(rng: random.Random, record: dict[str, str]) -> bool:
    field = rng.choice(("family_name", "given_names"))
    text = record[field]
    if rng.random() < 0.5:
        record[field] = text.upper()
    else:
        record[field] = "".join(
            c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
        )
    return record[field] != text


CORRUPTIONS = (
    (0.30, _family_typo),
    (0.20, _given_typo),
    (0.50, _ij_y),
    (0.50, _tussenvoegsel),
    (0.50, _transliteration),
    (0.20, _drop_second_given_name),
    (0.15, _swap_day_month),
    (0.05, _year_typo),
    (0.30, _case_and_diacritics),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    for record in population(arguments.people, arguments.seed):
        print(record.person, record.identifiers)


if __name__ == "__main__":
    main()
