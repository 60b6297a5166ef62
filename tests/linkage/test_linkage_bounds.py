"""One partner's many look-alikes cannot make linkage work grow with the population.

2,000 signals about one family name and birth date (given names differing slightly) used to
make pending pairs grow as N²/2, and every exchange compare itself with every earlier one. The
work of each intake is counted here, not timed: comparisons made, statements sent and pairs
proposed stay flat, and the pairs proposed from the crowded buckets say so.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection

from gateway.db import transaction
from gateway.linkage import services
from gateway.linkage.models import LinkageCandidate
from gateway.linkage.services import MAX_CANDIDATES_PER_SUBJECT, MAX_COMPARED_PER_BLOCK
from tests.factories import COVENANT

LOOK_ALIKES = 2_000
BLOCKS_PER_PERSON = 3  # year-family, day-month-family, year-given (gateway.linkage.encoding)


def _look_alike(n: int) -> dict[str, str]:
    letters = string.ascii_lowercase
    suffix = letters[n // 676 % 26] + letters[n // 26 % 26] + letters[n % 26]
    return {"family_name": "Jansen", "given_names": f"Eva {suffix}", "birth_date": "1999-04-02"}


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the real similarity computations (each one still runs)."""
    made: list[int] = []
    real: Callable[[Any, Any], float] = services.match_score

    def counted(left: Any, right: Any) -> float:
        made.append(1)
        return real(left, right)

    monkeypatch.setattr(services, "match_score", counted)
    return made


def test_2000_look_alikes_keep_each_intakes_work_bounded(
    gateway_app: Flask, connection: Connection, comparisons: list[int]
) -> None:
    container = gateway_app.extensions["ketenpoort"]
    statements: list[int] = []

    def count(*_args: Any) -> None:
        statements.append(1)

    event.listen(connection, "before_cursor_execute", count)
    work: list[tuple[int, int]] = []  # (statements, comparisons) per intake
    try:
        with transaction(container.session_factory) as session:
            for n in range(LOOK_ALIKES):
                identifiers = _look_alike(n)
                subject_id = container.vault.register(session, identifiers)
                sent, compared = len(statements), len(comparisons)
                container.linkage.index(session, subject_id,
                                        container.linkage.encode(identifiers),
                                        new_subject=True, covenant=COVENANT)
                work.append((len(statements) - sent, len(comparisons) - compared))
    finally:
        event.remove(connection, "before_cursor_execute", count)

    assert max(c for _s, c in work) <= BLOCKS_PER_PERSON * MAX_COMPARED_PER_BLOCK
    # The last intakes send no more statements than those past the first full bucket.
    assert max(s for s, _c in work[-100:]) <= max(s for s, _c in work[200:300])
    pairs = connection.scalar(select(func.count()).select_from(LinkageCandidate))
    assert 0 < pairs <= LOOK_ALIKES * MAX_CANDIDATES_PER_SUBJECT
    flagged = connection.scalar(select(func.count()).select_from(LinkageCandidate).where(
        LinkageCandidate.too_many_look_alikes))
    assert flagged >= (LOOK_ALIKES - MAX_COMPARED_PER_BLOCK - 1) * MAX_CANDIDATES_PER_SUBJECT
