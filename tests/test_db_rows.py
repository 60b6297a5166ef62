"""The hot-path row helpers and read-only sessions of ``gateway.db``, on both backends."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from audit.models import AuditEntry, Checkpoint
from gateway.clock import ManualClock
from gateway.container import Container
from gateway.db import (
    clock_of,
    insert_absent,
    insert_rows,
    make_session_factory,
    read_only,
    session_now,
    transaction,
)
from gateway.outbox.models import OutboxMessage


def _message(key: str, recipient: str = "riec-rotterdam-rijnmond") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": "test.notice", "recipient": recipient,
            "payload": {"n": 1}, "idempotency_key": key, "state": "pending"}


def _absent(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    return insert_absent(session, OutboxMessage, rows, unique=("idempotency_key",),
                         returning="idempotency_key")


def test_insert_absent_inserts_only_rows_whose_key_is_free(session: Session) -> None:
    assert _absent(session, [_message("a"), _message("b")]) == ["a", "b"]

    assert _absent(session, [_message("b", recipient="someone-else"), _message("c")]) == ["c"]

    kept = session.scalar(select(OutboxMessage.recipient)
                          .where(OutboxMessage.idempotency_key == "b"))
    assert kept == "riec-rotterdam-rijnmond"
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_insert_absent_of_nothing_touches_nothing(session: Session) -> None:
    assert _absent(session, []) == []


def test_insert_rows_fills_python_side_defaults(session: Session) -> None:
    insert_rows(session, OutboxMessage, [_message("d"), _message("e")])

    stamps = session.scalars(select(OutboxMessage.created_at)).all()
    assert len(stamps) == 2
    assert all(stamp is not None for stamp in stamps)


def _two_clock_readings(session: Session) -> tuple[Any, Any]:
    first = session.scalar(text("SELECT now()"))
    time.sleep(0.01)
    return first, session.scalar(text("SELECT now()"))


def test_read_only_on_postgresql_holds_no_transaction_and_leaves_none_behind(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("now() is per transaction on PostgreSQL only")
    factory = make_session_factory(engine)

    with read_only(factory) as session:
        first, second = _two_clock_readings(session)
    assert first != second  # each statement ran in a transaction of its own

    with transaction(factory) as session:
        first, second = _two_clock_readings(session)
    assert first == second  # the pooled connection is transactional again


def test_records_are_stamped_by_the_clock_of_their_session_factory(
    connection: Connection,
) -> None:
    year_2031, year_2024 = (ManualClock(datetime(year, 1, 1, 9, tzinfo=UTC))
                            for year in (2031, 2024))
    later, earlier = (make_session_factory(connection, c) for c in (year_2031, year_2024))

    with transaction(later) as session:
        insert_rows(session, OutboxMessage, [_message("core")])
        session.add(OutboxMessage(**_message("orm")))
        assert session_now(session) == year_2031.now()
    with transaction(earlier) as session:
        insert_rows(session, OutboxMessage, [_message("other")])

    with read_only(later) as session:
        stamps = dict(session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.created_at)).all())
    # A clock standing still still orders the records: each stamp is a microsecond later.
    microsecond = timedelta(microseconds=1)
    assert stamps == {"core": year_2031.now(), "orm": year_2031.now() + microsecond,
                      "other": year_2024.now()}
    assert clock_of(later) is year_2031


def test_audit_entries_and_checkpoints_carry_the_containers_clock(
    container: Container, clock: ManualClock
) -> None:
    clock.set(datetime(2031, 1, 1, 9, tzinfo=UTC))
    with transaction(container.session_factory) as session:
        event_id = container.audit.append(session, {"action": "test.stamped", "actor": "t"})
    container.sequencer_once().run_once()

    with read_only(container.session_factory) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event_id == event_id)).one()
        assert entry.recorded_at == clock.now()
        assert '"recorded_at":"2031-01-01T09:00:00' in entry.entry
        assert session.scalars(select(Checkpoint.issued_at)).one() == clock.now()
