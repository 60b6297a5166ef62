"""The sequencer runner keeps sealing and survives failures; readiness measures sealing lag."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from audit.log import AuditLog, CheckpointSigner, Sequencer
from audit.models import AuditEntry, Checkpoint
from gateway import db
from gateway.auditing.runner import AuditGate, SequencerRunner, audit_readiness
from gateway.clock import SYSTEM_CLOCK, ManualClock
from gateway.container import build_container
from gateway.keys import Keyring
from gateway.problems import Problem
from gateway.settings import Settings

from .conftest import exchange_event

INTERVAL = 0.05


def _eventually(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def signer(keyring: Keyring) -> CheckpointSigner:
    return CheckpointSigner(keyring.signing_key("audit-checkpoint"))


@pytest.fixture
def own_engine(tmp_path: Path) -> Iterator[Engine]:
    """A database of its own: the runner's thread commits for real and needs its own pool."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'runner.sqlite3'}")
    yield engine
    engine.dispose()


def _append(factory: sessionmaker[Session], count: int) -> None:
    with db.transaction(factory) as session:
        for number in range(count):
            AuditLog(lambda: db.session_now(session)).append(
                session, exchange_event("a", ["b"], [True], [f"ap-{number}"]))


def _sealed_size(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(Checkpoint.tree_size).order_by(
            Checkpoint.tree_size.desc()).limit(1)) or 0


def test_the_runner_seals_entries_as_they_arrive_and_reports_health(
    own_engine: Engine, signer: CheckpointSigner
) -> None:
    db.upgrade(own_engine)
    factory = db.make_session_factory(own_engine)
    runner = SequencerRunner(factory, Sequencer(factory, signer), INTERVAL,
                            clock=SYSTEM_CLOCK.now).start()
    try:
        _append(factory, 3)
        _eventually(lambda: _sealed_size(factory) == 3)
        _append(factory, 2)
        _eventually(lambda: _sealed_size(factory) == 5)
        health = _eventually(
            lambda: (h := runner.health())["last_checkpoint_tree_size"] == 5 and h
        )
        assert health["running"] is True
        assert health["error"] is None
        assert health["last_success_at"] is not None
        assert 0 <= health["lag_seconds"] < 5
        assert health["last_checkpoint_at"] is not None
        with pytest.raises(RuntimeError, match="already running"):
            runner.start()
    finally:
        runner.stop()
    assert runner.health()["running"] is False
    assert audit_readiness(factory, 60, clock=SYSTEM_CLOCK.now)[0]


def test_the_runner_survives_failures_and_recovers(
    own_engine: Engine, signer: CheckpointSigner
) -> None:
    # No schema yet: every run fails with a real database error until the migration runs.
    factory = db.make_session_factory(own_engine)
    runner = SequencerRunner(factory, Sequencer(factory, signer), INTERVAL,
                            clock=SYSTEM_CLOCK.now).start()
    try:
        failing = _eventually(lambda: (h := runner.health())["consecutive_failures"] >= 2 and h)
        assert failing["error"] == "OperationalError"
        assert failing["last_success_at"] is None
        assert failing["lag_seconds"] is None
        assert runner.running
        db.upgrade(own_engine)
        _append(factory, 1)
        _eventually(lambda: _sealed_size(factory) == 1, timeout=10)
        recovered = _eventually(lambda: (h := runner.health())["error"] is None and h)
        assert recovered["consecutive_failures"] == 0
    finally:
        runner.stop()


def test_run_once_reports_failure_without_raising(signer: CheckpointSigner) -> None:
    factory = db.make_session_factory(db.make_engine("sqlite://"))
    runner = SequencerRunner(factory, Sequencer(factory, signer), INTERVAL,
                            clock=SYSTEM_CLOCK.now)
    assert runner.run_once() is False
    assert runner.health()["error"] == "OperationalError"


def test_run_forever_returns_when_stopped_from_another_thread(
    own_engine: Engine, signer: CheckpointSigner
) -> None:
    db.upgrade(own_engine)
    factory = db.make_session_factory(own_engine)
    runner = SequencerRunner(factory, Sequencer(factory, signer), INTERVAL,
                            clock=SYSTEM_CLOCK.now).start()
    runner.stop(timeout=5)
    assert not runner.running


def test_a_non_positive_interval_is_refused(signer: CheckpointSigner) -> None:
    factory = db.make_session_factory(db.make_engine("sqlite://"))
    with pytest.raises(ValueError, match="positive"):
        SequencerRunner(factory, Sequencer(factory, signer), 0, clock=SYSTEM_CLOCK.now)


# --- readiness from the database ---------------------------------------------------------

@pytest.fixture
def factory(connection: Connection, clock: ManualClock) -> sessionmaker[Session]:
    return db.make_session_factory(connection, clock)


def test_an_empty_log_is_ready(factory: sessionmaker[Session], clock: ManualClock) -> None:
    ok, detail = audit_readiness(factory, 60, clock=clock.now)
    assert ok
    assert detail["lag_seconds"] == 0
    assert detail["oldest_unsealed_at"] is None


def test_pending_entries_older_than_the_limit_make_it_not_ready(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    _append(factory, 2)
    clock.advance(timedelta(seconds=30))
    ok, detail = audit_readiness(factory, 60, clock=clock.now)
    assert ok
    assert 29 < detail["lag_seconds"] <= 31
    clock.advance(timedelta(seconds=31))
    ok, detail = audit_readiness(factory, 60, clock=clock.now)
    assert not ok
    assert detail["lag_seconds"] > 60
    assert detail["signed_tree_size"] == 0


def test_a_sealed_quiet_log_stays_ready_however_old_its_checkpoint(
    factory: sessionmaker[Session], clock: ManualClock, signer: CheckpointSigner
) -> None:
    _append(factory, 3)
    Sequencer(factory, signer).run_once()
    clock.advance(timedelta(seconds=7 * 24 * 3600))
    ok, detail = audit_readiness(factory, 60, clock=clock.now)
    assert ok
    assert detail["signed_tree_size"] == 3
    assert detail["latest_checkpoint_at"] is not None


def test_integrated_but_unsigned_entries_count_as_unsealed(
    factory: sessionmaker[Session], clock: ManualClock, signer: CheckpointSigner
) -> None:
    _append(factory, 2)
    Sequencer(factory, signer).run_once()
    _append(factory, 1)
    # What a sequencer whose signing fails leaves behind: a position but no checkpoint.
    with db.transaction(factory) as session:
        session.execute(update(AuditEntry).where(AuditEntry.tree_index.is_(None))
                        .values(tree_index=2))
    clock.advance(timedelta(seconds=120))
    ok, detail = audit_readiness(factory, 60, clock=clock.now)
    assert not ok
    assert detail["signed_tree_size"] == 2
    assert detail["lag_seconds"] >= 119


def test_the_gate_refuses_with_503_and_caches_its_answer(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    gate = AuditGate(factory, 2, cache_seconds=5, clock=clock.now)
    gate.check()
    _append(factory, 1)
    clock.advance(timedelta(seconds=4))
    assert not audit_readiness(factory, 2, clock=clock.now)[0]
    gate.check()  # still the cached answer from before the entry aged
    clock.advance(timedelta(seconds=2))
    with pytest.raises(Problem) as raised:
        gate.check()
    assert raised.value.status == 503
    assert raised.value.slug == "audit-sealing-lagging"
    assert raised.value.headers["Retry-After"]


def test_an_unreadable_log_is_not_ready_and_the_gate_refuses(
    own_engine: Engine, clock: ManualClock
) -> None:
    factory = db.make_session_factory(own_engine)  # no schema: every query fails
    ok, detail = audit_readiness(factory, 60, clock=clock.now)
    assert not ok
    assert detail["error"] == "OperationalError"
    with pytest.raises(Problem) as raised:
        AuditGate(factory, 60, clock=clock.now).check()
    assert raised.value.status == 503
    assert raised.value.slug == "audit-state-unavailable"


def test_the_containers_runner_signs_with_the_keyrings_checkpoint_key(
    own_engine: Engine, keyring: Keyring, settings: Settings
) -> None:
    db.upgrade(own_engine)
    factory = db.make_session_factory(own_engine)
    _append(factory, 1)
    runner = build_container(settings, bind=own_engine, keyring=keyring).sequencer_runner(INTERVAL)
    assert runner.run_once()
    with factory() as session:
        checkpoint = session.scalars(select(Checkpoint)).one()
    assert checkpoint.key_id == CheckpointSigner(keyring.signing_key("audit-checkpoint")).key_id
