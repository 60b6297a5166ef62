"""``db.read_only``: request-path reads must not queue behind SQLite's write lock."""

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


def test_a_writing_transaction_still_takes_the_lock(tmp_path: Path) -> None:
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
