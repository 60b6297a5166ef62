"""Two transactions registering the same new person at once end with one subject."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from gateway.db import make_session_factory
from gateway.identity.interfaces import Identifiers
from gateway.identity.models import Subject
from gateway.identity.services import IdentityVault
from tests.identity.factories import next_bsn


@pytest.mark.postgres_only
def test_concurrent_first_registrations_merge_into_one_subject(
    engine: Engine, vault: IdentityVault
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); there is no race to lose")
    bsn = next_bsn()
    factory = make_session_factory(engine)

    def register_and_commit(identifiers: Identifiers) -> str:
        with factory() as session:
            subject_id = vault.register(session, identifiers)
            session.commit()
            return subject_id

    first = factory()
    first_id = ""
    try:
        first_id = vault.register(first, {"bsn": bsn, "family_name": "Jansen"})
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(register_and_commit, {"bsn": bsn, "nationality": "NLD"})
            time.sleep(0.3)
            assert not second.done(), "the second insert should wait on the first's unique key"
            first.commit()
            assert second.result(timeout=10) == first_id
        with factory() as session:
            assert vault.reveal(session, first_id) == {
                "bsn": bsn, "family_name": "Jansen", "nationality": "NLD",
            }
    finally:
        first.close()
        # This test commits for real, outside the per-test transaction: clean up after it.
        with factory.begin() as session:
            session.execute(delete(Subject).where(Subject.id == first_id))
