"""SQLite locking on the request path: reads never queue behind writers, writers queue fairly.

``db.read_only`` begins without SQLite's write lock; writing transactions take a per-process
lock and a lock file before ``BEGIN IMMEDIATE`` and must hand both back however they end.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway import db


def _sqlite_factory(path: Path) -> tuple[Engine, sessionmaker[Session]]:
    engine = db.make_engine(f"sqlite:///{path}", connect_args={"timeout": 2})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    return engine, db.make_session_factory(engine)


def test_a_read_only_session_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    engine, factory = _sqlite_factory(tmp_path / "lock.sqlite3")
    with engine.begin() as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock until the end
        started = time.perf_counter()
        with db.read_only(factory) as session:
            seen = session.execute(text("SELECT count(*) FROM t")).scalar_one()
        waited = time.perf_counter() - started
    assert seen == 0  # the uncommitted row is invisible
    assert waited < 1.0  # a write-locking BEGIN would wait out the 2 s busy timeout
    engine.dispose()


def test_a_writing_transaction_still_takes_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 2000)
    engine, factory = _sqlite_factory(tmp_path / "lock.sqlite3")
    with engine.begin() as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))
        started = time.perf_counter()
        with pytest.raises(OperationalError, match="locked"), db.transaction(factory) as session:
            session.execute(text("SELECT 1"))
        waited = time.perf_counter() - started
    assert waited > 1.5
    engine.dispose()


def test_read_only_never_commits(tmp_path: Path) -> None:
    engine, factory = _sqlite_factory(tmp_path / "rollback.sqlite3")
    with db.read_only(factory) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
    with db.read_only(factory) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    engine.dispose()


@pytest.mark.parametrize("ending", ["commit", "rollback", "error"])
def test_the_writer_locks_are_handed_back_however_a_transaction_ends(
    tmp_path: Path, ending: str
) -> None:
    path = tmp_path / "handback.sqlite3"
    engine, factory = _sqlite_factory(path)
    other_process_engine = db.make_engine(f"sqlite:///{path}")  # its own lock file descriptor
    for _ in range(3):
        try:
            with db.transaction(factory) as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
                if ending == "rollback":
                    session.rollback()
                elif ending == "error":
                    raise RuntimeError("the unit of work fails")
        except RuntimeError:
            pass
    started = time.perf_counter()
    with other_process_engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
    assert time.perf_counter() - started < 0.5
    with db.read_only(factory) as session:
        rows = session.execute(text("SELECT x FROM t ORDER BY x")).scalars().all()
    assert rows == ([1, 1, 1, 2] if ending == "commit" else [2])
    engine.dispose()
    other_process_engine.dispose()
