"""Identity benchmarks: pseudonyms per second, and vault sealing and opening per second.

    python bench/identity_bench.py [--pseudonyms 200000] [--subjects 5000] [--database-url URL]

The vault benchmark creates the schema in the database it is given (default: a temporary SQLite
file) and rolls its writes back; point it at a scratch database, never at one holding real data.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway import db
from gateway.identity.interfaces import Identifiers
from gateway.identity.services import IdentityVault, Pseudonymiser
from gateway.keys import Keyring
from tests.identity.factories import identifiers

RECIPIENTS = ("politie", "gemeente-vlaardingen", "riec-rotterdam", "om", "arbeidsinspectie")


def _rate(label: str, count: int, work: Callable[[], None]) -> None:
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    print(f"{label:<52} {count / elapsed:>12,.0f} /s  ({count:,} in {elapsed:.2f} s)")


def bench_pseudonyms(keyring: Keyring, count: int) -> None:
    subject_ids = [str(uuid.uuid4()) for _ in range(count)]
    warm = Pseudonymiser(keyring)

    def warm_cache() -> None:
        for position, subject_id in enumerate(subject_ids):
            warm.pseudonym(subject_id, RECIPIENTS[position % len(RECIPIENTS)])

    def new_recipient_each_time() -> None:
        cold = Pseudonymiser(keyring)
        for position, subject_id in enumerate(subject_ids[: count // 10]):
            cold.pseudonym(subject_id, f"recipient-{position}")

    _rate("pseudonyms, 5 recipients (keys cached)", count, warm_cache)
    _rate("pseudonyms, new recipient every call (HKDF each)", count // 10, new_recipient_each_time)


def bench_vault(keyring: Keyring, url: str, count: int) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    vault = IdentityVault(keyring)
    people: list[Identifiers] = [identifiers() for _ in range(count)]
    with engine.connect() as connection:
        outer = connection.begin()
        session = db.make_session_factory(connection)()
        subject_ids: list[str] = []

        def register_new() -> None:
            subject_ids.extend(vault.register(session, person) for person in people)

        def register_known() -> None:
            for person in people:
                vault.register(session, person)

        def reveal() -> None:
            for subject_id in subject_ids:
                vault.reveal(session, subject_id)

        def audit_pseudonyms() -> None:
            for person in people:
                vault.audit_pseudonym_for(person)

        _rate("register new subject (encrypt + insert + flush)", count, register_new)
        _rate("register known subject (lookup + decrypt + compare)", count, register_known)
        _rate("reveal (get + unwrap + decrypt)", count, reveal)
        _rate("audit pseudonym from identifiers", count, audit_pseudonyms)
        session.close()
        outer.rollback()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pseudonyms", type=int, default=200_000)
    parser.add_argument("--subjects", type=int, default=5_000)
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    keyring = Keyring.generate()
    bench_pseudonyms(keyring, arguments.pseudonyms)
    with tempfile.TemporaryDirectory() as scratch:
        url = arguments.database_url or f"sqlite:///{scratch}/bench.sqlite3"
        print(f"vault on {url.split('@')[-1]}")
        bench_vault(keyring, url, arguments.subjects)


if __name__ == "__main__":
    main()
