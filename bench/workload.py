"""A realistic stream of exchanges at the detectie step of the demo covenant.

Every non-RIEC partner sends signals about one or two persons to the RIEC, often with a category
from its own sources; one exchange in five also names the police as a recipient, which the
covenant refuses at detectie (a partial decision). Persons come from a pool large enough that
most registrations are new and the pseudonym and policy caches do not make the path trivial;
some carry no BSN and are matched on name and birth date.
"""

from __future__ import annotations

import json
import random
from typing import Any

from bench.loadgen import PreparedRequest
from gateway.identity.bsn import elfproef_sum

COVENANT = "riec-rr-mensenhandel"
PURPOSE = "ketenaanpak-mensenhandel"
RIEC = "riec-rotterdam-rijnmond"
POLICE = "politie-rotterdam"
# Each provider's own source category at detectie (covenant grants *-bronnen-detectie).
SOURCE_CATEGORIES: dict[str, str | None] = {
    "gemeente-vlaardingen": "huisvesting",
    "gemeente-rotterdam": "vergunningen",
    "gemeente-schiedam": "verblijfplaats",
    "politie-rotterdam": "strafrechtelijk",
    "om-rotterdam": None,
    "arbeidsinspectie": "arbeid",
    "belastingdienst": "financieel",
    "ind": "verblijfsstatus",
    "ggd-rotterdam-rijnmond": None,
}
PROVIDERS = tuple(SOURCE_CATEGORIES)
FAMILY_NAMES = ("Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Nowak", "Popescu",
                "Kowalski", "Ivanova", "Mulder", "de Boer", "Dijkstra", "Yilmaz", "Santos")
GIVEN_NAMES = ("Eva", "Anna", "Maria", "Pieter", "Jan", "Olena", "Andrei", "Marta", "Tomasz",
               "Fatima", "Sem", "Lotte", "Daan", "Ioana", "Kamil")
ROLES = ("slachtoffer", "dader", "faciliteerder", "betrokkene")


def valid_bsn(rng: random.Random) -> str:
    while True:
        first_eight = f"{rng.randrange(10_000_000, 99_999_999):08d}"
        check_digit = elfproef_sum(first_eight + "0") % 11
        if check_digit < 10:
            return first_eight + str(check_digit)


def person(rng: random.Random) -> dict[str, str]:
    identifiers = {
        "family_name": rng.choice(FAMILY_NAMES),
        "given_names": rng.choice(GIVEN_NAMES),
        "birth_date": f"{rng.randrange(1955, 2007)}-{rng.randrange(1, 13):02d}-"
                      f"{rng.randrange(1, 29):02d}",
    }
    if rng.random() < 0.85:
        identifiers["bsn"] = valid_bsn(rng)
    return identifiers


def exchange_body(rng: random.Random, provider: str, people: list[dict[str, str]]
                  ) -> dict[str, Any]:
    count = 1 if rng.random() < 0.7 else 2
    subjects = [
        {"ref": f"p{n}", "role": rng.choice(ROLES), "identifiers": rng.choice(people)}
        for n in range(1, count + 1)
    ]
    items: list[dict[str, Any]] = [
        {"category": "uitbuitingssignalen", "subject_ref": "p1",
         "content": {"indicators": rng.sample(["geen-id-papieren", "schulden-bij-werkgever",
                                               "overbewoning", "huisvesting-via-werkgever"], 2),
                     "observed_at": "2026-11-20"}}
    ]
    source = SOURCE_CATEGORIES[provider]
    if source is not None and rng.random() < 0.6:
        items.append({"category": source, "subject_ref": subjects[-1]["ref"],
                      "content": {"summary": "bevinding uit eigen bron",
                                  "reference": rng.randrange(10**6)}})
    recipients = [RIEC, POLICE] if provider != POLICE and rng.random() < 0.2 else [RIEC]
    return {"covenant": COVENANT, "purpose": PURPOSE, "process_step": "detectie",
            "recipients": recipients, "case_id": None, "subjects": subjects, "items": items}


class Workload:
    """``requests(i)`` for the load generator: prepared up front so sending costs no CPU."""

    def __init__(self, tokens: dict[str, str], count: int, *, people: int, seed: int,
                 path: str = "/v1/exchanges") -> None:
        rng = random.Random(seed)
        pool = [person(rng) for _ in range(people)]
        self._prepared = []
        for index in range(count):
            provider = rng.choice(PROVIDERS)
            body = json.dumps(exchange_body(rng, provider, pool)).encode()
            headers = {"Authorization": f"Bearer {tokens[provider]}",
                       "Content-Type": "application/json",
                       "Idempotency-Key": f"bench-{seed}-{index}"}
            self._prepared.append(PreparedRequest(path, body, headers))

    def __call__(self, index: int) -> PreparedRequest:
        return self._prepared[index % len(self._prepared)]

    def __len__(self) -> int:
        return len(self._prepared)
