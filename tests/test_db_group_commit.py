"""Group commit: concurrent units of work share one durable commit, and fail one by one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Text, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from gateway import db
from tests.conftest import BACKENDS, _postgres_url

Unit = Callable[[Session], str]


class _Scratch(DeclarativeBase):
    """The tables of these tests, outside the gateway's schema."""


class Note(_Scratch):
    __tablename__ = "notes"

    name: Mapped[str] = mapped_column(Text, primary_key=True)


@pytest.fixture(params=BACKENDS)
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A table of its own that commits for real, outside the per-test transaction."""
    url = (f"sqlite:///{tmp_path / 'group.sqlite3'}" if request.param == "sqlite"
           else _postgres_url())
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS notes"))
        connection.execute(text("CREATE TABLE notes (name TEXT PRIMARY KEY)"))
    yield db.make_session_factory(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE notes"))
    engine.dispose()


def _insert(name: str) -> Unit:
    def unit(session: Session) -> str:
        session.execute(text("INSERT INTO notes VALUES (:name)"), {"name": name})
        return name
    return unit


def _insert_batched(name: str) -> Unit:
    def unit(session: Session) -> str:
        db.insert_rows(session, Note, [{"name": name}], batched=True)
        return name
    return unit


def _stored(factory: sessionmaker[Session]) -> set[str]:
    with factory() as session:
        return set(session.scalars(text("SELECT name FROM notes")))


def _count_commits(factory: sessionmaker[Session]) -> list[int]:
    commits: list[int] = []
    engine = factory.kw["bind"]
    assert isinstance(engine, Engine)
    event.listen(engine, "commit", lambda _connection: commits.append(1))
    return commits


def _in_threads(committer: db.GroupCommitter, units: list[Unit]) -> list[str | Exception]:
    results: list[str | Exception] = [""] * len(units)

    def call(index: int) -> None:
        try:
            results[index] = committer.run(units[index])
        except Exception as error:  # collected for the assertions, per caller
            results[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(units))]
    for thread in threads:
        thread.start()
    return _joined(threads, results)


def _joined(threads: list[threading.Thread], results: list[str | Exception]
            ) -> list[str | Exception]:
    for thread in threads:
        thread.join(timeout=30)
    return results


def _queued_behind_a_held_leader(
    committer: db.GroupCommitter, followers: list[Unit]
) -> list[str | Exception]:
    """The leader's unit waits inside its commit until every follower has queued, so the
    followers are certain to share the next commit."""
    entered, release = threading.Event(), threading.Event()

    def leader(session: Session) -> str:
        entered.set()
        release.wait(timeout=30)
        return _insert("leader")(session)

    first = threading.Thread(target=committer.run, args=(leader,))
    first.start()
    assert entered.wait(timeout=30)  # the leader runs its batch of one
    results: list[str | Exception] = []
    outcome = threading.Thread(target=lambda: results.extend(_in_threads(committer, followers)))
    outcome.start()
    while committer.queued < len(followers):
        time.sleep(0.001)
    release.set()
    first.join(timeout=30)
    outcome.join(timeout=30)
    return results


def test_a_caller_alone_commits_in_its_own_thread(factory: sessionmaker[Session]) -> None:
    seen: list[int] = []

    def unit(session: Session) -> str:
        seen.append(threading.get_ident())
        return _insert("alone")(session)

    assert db.GroupCommitter(factory).run(unit) == "alone"
    assert seen == [threading.get_ident()]
    assert _stored(factory) == {"alone"}


def test_callers_that_arrive_during_a_commit_share_the_next_one(
    factory: sessionmaker[Session],
) -> None:
    committer = db.GroupCommitter(factory)
    commits = _count_commits(factory)

    results = _queued_behind_a_held_leader(committer, [_insert(f"n{i}") for i in range(8)])

    assert sorted(map(str, results)) == [f"n{i}" for i in range(8)]
    assert _stored(factory) == {"leader", *(f"n{i}" for i in range(8))}
    assert len(commits) == 2


def test_a_failing_unit_takes_only_itself_down(factory: sessionmaker[Session]) -> None:
    committer = db.GroupCommitter(factory)

    results = _queued_behind_a_held_leader(
        committer, [_insert("a"), _insert("leader"), _insert("b")])  # "leader" exists: fails

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1
    assert isinstance(errors[0], IntegrityError)
    assert _stored(factory) == {"leader", "a", "b"}


def test_when_the_commit_fails_every_unit_of_the_batch_fails_and_nothing_is_stored(
    factory: sessionmaker[Session],
) -> None:
    def refuse(_session: Session) -> None:
        raise RuntimeError("disk full")

    event.listen(factory, "before_commit", refuse)
    results = _in_threads(db.GroupCommitter(factory), [_insert("x"), _insert("y")])

    assert [str(r) for r in results] == ["disk full", "disk full"]
    event.remove(factory, "before_commit", refuse)
    assert _stored(factory) == set()


def test_many_concurrent_callers_all_get_their_answer(factory: sessionmaker[Session]) -> None:
    committer = db.GroupCommitter(factory, max_batch=4)

    results = _in_threads(committer, [_insert(f"m{i}") for i in range(40)])

    assert sorted(map(str, results)) == sorted(f"m{i}" for i in range(40))
    assert _stored(factory) == {f"m{i}" for i in range(40)}
    assert committer.queued == 0


def test_a_broken_connection_fails_the_whole_batch_not_just_the_unit(
    factory: sessionmaker[Session],
) -> None:
    """After a lost connection the transaction cannot go on: every unit gets the database's
    error (a 503 for the caller), none a later "pending rollback" error (a 500)."""
    def connection_lost(_session: Session) -> str:
        raise OperationalError("INSERT ...", {}, ConnectionError("server closed the connection"))

    results = _queued_behind_a_held_leader(
        db.GroupCommitter(factory), [_insert("a"), connection_lost, _insert("b")])

    assert all(isinstance(r, OperationalError) for r in results)
    assert _stored(factory) == {"leader"}


def _count_inserts(factory: sessionmaker[Session]) -> list[str]:
    statements: list[str] = []
    engine = factory.kw["bind"]

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("INSERT INTO notes"):
            statements.append(statement)

    return statements


def test_the_batched_rows_of_a_batch_go_in_with_one_statement(
    factory: sessionmaker[Session],
) -> None:
    inserts = _count_inserts(factory)

    results = _queued_behind_a_held_leader(
        db.GroupCommitter(factory), [_insert_batched(f"n{i}") for i in range(8)])

    assert sorted(map(str, results)) == [f"n{i}" for i in range(8)]
    assert _stored(factory) == {"leader", *(f"n{i}" for i in range(8))}
    assert len(inserts) == 2  # the leader's own, then the eight units' rows at once


def test_a_batched_row_that_fails_takes_only_its_unit_down(
    factory: sessionmaker[Session],
) -> None:
    results = _queued_behind_a_held_leader(db.GroupCommitter(factory), [
        _insert_batched("a"), _insert_batched("leader"), _insert_batched("b")])  # taken

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1
    assert isinstance(errors[0], IntegrityError)
    assert sorted(r for r in results if isinstance(r, str)) == ["a", "b"]
    assert _stored(factory) == {"leader", "a", "b"}


def test_the_batched_rows_of_a_unit_that_failed_are_not_written(
    factory: sessionmaker[Session],
) -> None:
    def changes_its_mind(session: Session) -> str:
        _insert_batched("regret")(session)
        raise ValueError("refused after writing")

    results = _queued_behind_a_held_leader(db.GroupCommitter(factory), [
        _insert_batched("a"), changes_its_mind, _insert_batched("b")])

    assert [str(r) for r in results if isinstance(r, Exception)] == ["refused after writing"]
    assert _stored(factory) == {"leader", "a", "b"}
