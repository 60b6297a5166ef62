"""The spellings of one person's names that linkage treats as alternatives of each other.

The vault's subject key (``gateway.identity.normalise``) must stay exactly as it is, so this
folding is linkage's own and may be as generous as recall needs:

* every script is transliterated to ASCII first (``anyascii``: "Микола" → "Mikola", "Dvořák" →
  "Dvorak", "Ouédraogo" → "Ouedraogo"), then folded as the vault folds (case, ij → y,
  punctuation as spaces);
* a family name yields alternatives: its significant part without tussenvoegsels ("ten Brink"
  → "brink"), the same written attached ("tenbrink", which is how "Tenbrink" is written), an
  attached name split off its particle ("Tenbrink" → "brink"), and each part of a double or
  hyphenated name ("Jansen-de Vries" → "jansen", "vries"), because a partner may know only
  the birth name or only the married name;
* given names map through :data:`GIVEN_NAME_VARIANTS`, a small table of transliteration
  families seen in this population, to one spelling per family ("Mykola", "Nikolay" →
  "nikolai"). The table is deliberately short: a wrong entry would make two persons alike.
"""

from __future__ import annotations

import functools
import re

from anyascii import anyascii

from gateway.identity.normalise import TUSSENVOEGSELS, fold

#: Each transliteration family (Ukrainian, Russian, Polish, Arabic and Turkish sources, Dutch
#: and English spellings) under the spelling every member maps to.
GIVEN_NAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "nikolai": ("mykola", "mikola", "nikolay", "nikolaj", "nicolai", "mykolay"),
    "sergei": ("serhiy", "serhii", "serhij", "sergey", "sergiy", "sergii", "sergej", "serghei"),
    "aleksandr": ("oleksandr", "olexandr", "alexander", "aleksander", "alexandr"),
    "aleksei": ("oleksiy", "oleksii", "alexei", "alexey", "aleksey", "aleksej"),
    "dmitri": ("dmytro", "dmitry", "dmitriy", "dmitrij"),
    "elena": ("olena", "alena", "jelena", "yelena"),
    "andrei": ("andriy", "andrii", "andrey", "andrej", "andrzej"),
    "mikhail": ("mykhailo", "mychajlo", "michail", "mihail"),
    "vladimir": ("volodymyr", "wladimir", "wolodymyr"),
    "yuri": ("yuriy", "yurii", "iouri", "jurij", "juri"),
    "yevgeni": ("yevhen", "jevgeni", "evgeni", "evgeny", "evgenii", "yevgeny"),
    "tatiana": ("tetiana", "tetyana", "tatyana", "tatjana"),
    "natalia": ("nataliya", "natalya", "natalija"),
    "irina": ("iryna",),
    "galina": ("halyna",),
    "pavel": ("pavlo", "pawel"),
    "mohammed": ("mohamed", "muhammad", "mohammad", "muhammed", "mohamad"),
    "yusuf": ("youssef", "yousef", "youssouf", "yusef", "joesoef"),
    "aisha": ("aicha", "aischa", "ayesha"),
    "fatima": ("fatma", "fatimah"),
    "ibrahim": ("ebrahim", "brahim"),
}
_CANONICAL_GIVEN = {
    variant: canonical
    for canonical, variants in GIVEN_NAME_VARIANTS.items()
    for variant in (canonical, *variants)
}
# Particles a family name may carry attached ("Vandenberg", "Tenbrink"), longest first, and the
# abbreviations that never appear attached to the name in full.
_ATTACHED_PARTICLE = re.compile(r"^(vander|vanden|vande|van|von|ten|ter|den|der|de|op|in)(.{4,})$")
_ABBREVIATIONS = frozenset({"v", "vd", "vden", "vder", "d", "l", "s", "t"})
# Soundex classes of the consonants; vowels and h, w, y separate codes and are not coded.
_SOUNDEX = {letter: str(code)
            for code, group in enumerate(("bfpv", "cgjkqsxz", "dt", "l", "mn", "r"), start=1)
            for letter in group}


def transliterated(text: str) -> str:
    """ASCII, casefolded, ij → y, punctuation as spaces, whitespace collapsed."""
    return fold(anyascii(text))


# Names repeat across persons; a bounded cache of their spellings keeps encoding fast.
NAME_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def family_alternatives(family_name: str, prefix: str = "") -> tuple[str, ...]:
    """The ways a family name may be written by another partner, most complete first."""
    words = transliterated(f"{prefix} {family_name}").split()
    particles = [w for w in words if w in TUSSENVOEGSELS]
    significant = [w for w in words if w not in TUSSENVOEGSELS]
    if not significant:  # a person called "De" keeps the name
        return (" ".join(words),) if words else ()
    alternatives = [" ".join(significant)]
    if particles and len(significant) == 1 and not _ABBREVIATIONS & set(particles):
        alternatives.append("".join(particles) + "".join(significant))
    for word in significant:
        attached = _ATTACHED_PARTICLE.match(word)
        alternatives.append(attached.group(2) if attached else word)
    return tuple(dict.fromkeys(a for a in alternatives if a))


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def given_alternatives(given_names: str) -> tuple[str, ...]:
    """The first given name and all given names, each word in canonical spelling."""
    words = [_CANONICAL_GIVEN.get(w, w) for w in transliterated(given_names).split()]
    if not words:
        return ()
    return tuple(dict.fromkeys((words[0], " ".join(words))))


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def soundex(text: str) -> str:
    """The Soundex code of the first word of folded ASCII text ("vries" → "v620")."""
    word = text.split(" ", 1)[0]
    if not word:
        return ""
    codes, previous = [], _SOUNDEX.get(word[0], "")
    for letter in word[1:]:
        code = _SOUNDEX.get(letter, "")
        if code and code != previous:
            codes.append(code)
        if letter not in "hw":
            previous = code
    return (word[0] + "".join(codes) + "000")[:4]
