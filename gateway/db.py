"""Database plumbing: the declarative base, engines, sessions and schema migration.

Every table of every domain package hangs off :class:`Base`; Alembic migrations under
``gateway/migrations`` are the only way the schema is created or changed.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, MetaData, Table, create_engine, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import Insert, ReturningInsert
from sqlalchemy.types import TypeDecorator

from gateway.clock import SYSTEM_CLOCK

MIGRATIONS_PATH = Path(__file__).resolve().parent / "migrations"
# Execution option marking a transaction that only reads (see :func:`read_only`).
READ_ONLY = "ketenpoort_read_only"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Owner-only: the database holds sealed identities, pseudonyms and the access log. SQLite creates
# its -wal and -shm files with the mode of the database file, so creating that one right is enough.
DATABASE_FILE_MODE = 0o600
SQLITE_COMPANION_SUFFIXES = ("", "-wal", "-shm")
_HOLDS_WRITER_LOCK = "ketenpoort_holds_writer_lock"
_POLL_SECONDS = 0.0002

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Column default for record times that no rule compares; rules use the injected clock."""
    return SYSTEM_CLOCK.now()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _restrict_sqlite_files(engine.url.database)
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _restrict_sqlite_files(database: str | None) -> None:
    """Create the database file owner-only before SQLite does (it would honour the umask,
    usually 0644), and narrow the files of an instance made before this to 0600 as well."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, DATABASE_FILE_MODE))
    for suffix in SQLITE_COMPANION_SUFFIXES:
        companion = Path(f"{database}{suffix}")
        if companion.exists():
            companion.chmod(DATABASE_FILE_MODE)


def purge_freed_pages(factory: sessionmaker[Session]) -> bool:
    """Push zeroed pages into the SQLite file and empty the write-ahead log; True when done.

    Called after shredding. ``secure_delete`` zeroes what a statement frees, but until a
    checkpoint the database file still holds the old page and the WAL its earlier images; a
    ``TRUNCATE`` checkpoint copies the zeroed pages back and cuts the WAL to nothing. A reader
    holding an old snapshot makes it incomplete (False): the next purge finishes it. PostgreSQL
    cannot be purged from here (dead tuples, WAL, base backups): see ``KeyRotation.new_epoch``.
    """
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return False
    # On the raw connection: outside a transaction, which a checkpoint needs.
    raw = bind.raw_connection()
    try:
        cursor = raw.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    return bool(busy == 0)


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; the SQLAlchemy
    # documentation's recipe hands transaction control to SQLAlchemy so that a failed audit
    # write really rolls back the exchange it belongs to.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Freed cells and pages are overwritten with zeros, so a shredded key or a removed
        # record does not linger in free space for anyone who copies the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    # SQLite lets one writer in at a time and makes the others poll, sleeping up to 100 ms
    # between tries: threads of one process queue here instead and are handed the lock the
    # moment it is free, so only one thread per process ever polls SQLite.
    writers = threading.Lock()
    across_processes = _ProcessWriterLock(engine.url.database)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the lock up front (no upgrade deadlocks); readers in WAL mode need no
        # lock at all, and taking it would queue them behind every write.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        if not writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise _locked()
        if not across_processes.acquire(deadline):
            writers.release()
            raise _locked()
        connection.info[_HOLDS_WRITER_LOCK] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release_writer(connection)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Connection) -> None:
        # The event fires before SQLAlchemy commits: commit here (its own commit then finds
        # nothing to do) so the next writer never meets a lock that is about to be free.
        if connection.info.get(_HOLDS_WRITER_LOCK):
            try:
                connection.connection.dbapi_connection.commit()  # type: ignore[union-attr]  # checked out, so connected
            finally:
                _release_writer(connection)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        if connection.info.get(_HOLDS_WRITER_LOCK):
            try:
                connection.connection.dbapi_connection.rollback()  # type: ignore[union-attr]  # checked out, so connected
            finally:
                _release_writer(connection)

    def _release_writer(connection: Connection) -> None:
        connection.info.pop(_HOLDS_WRITER_LOCK, None)
        across_processes.release()
        writers.release()


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


class _ProcessWriterLock:
    """An advisory lock file beside the database: one writing process at a time, polled often.

    SQLite's own busy handler backs off to 100 ms sleeps, so a process that keeps handing the
    lock between its own threads starves the others; polling a lock file every
    :data:`_POLL_SECONDS` hands it over within a fraction of a millisecond. In-memory
    databases have no file and need no lock.
    """

    def __init__(self, database: str | None) -> None:
        in_memory = not database or database == ":memory:" or database.startswith("file::memory")
        self._path = None if in_memory else f"{database}-writer.lock"
        self._descriptor: tuple[int, int] | None = None  # (pid, fd): a fork needs its own fd

    def acquire(self, deadline: float) -> bool:
        if self._path is None:
            return True
        descriptor = self._open()
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(_POLL_SECONDS)

    def release(self) -> None:
        if self._path is not None:
            fcntl.flock(self._open(), fcntl.LOCK_UN)

    def _open(self) -> int:
        pid = os.getpid()
        if self._descriptor is None or self._descriptor[0] != pid:
            self._descriptor = (pid, os.open(str(self._path), os.O_RDWR | os.O_CREAT, 0o600))
        return self._descriptor[1]


def make_session_factory(bind: Engine | Connection) -> sessionmaker[Session]:
    if isinstance(bind, Connection):
        # Tests hand in a connection inside an outer transaction; commits become savepoints.
        return sessionmaker(
            bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads: it never waits for SQLite's write lock, and never commits.

    For checks on the request path (is this client revoked, was this request answered before)
    that would otherwise queue behind every concurrent write on SQLite. On PostgreSQL it opens
    no transaction, so each statement sees what was committed when it ran.
    """
    session = factory()
    options: dict[str, Any] = {READ_ONLY: True}
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        # The checks are single statements, or tolerate a commit between them: without a
        # transaction they cost no BEGIN and ROLLBACK round trips. (A test's connection is
        # inside its own transaction already.)
        options["isolation_level"] = "AUTOCOMMIT"
    try:
        session.connection(execution_options=options)
        yield session
    finally:
        session.rollback()
        session.close()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def core(session: Session) -> Connection:
    """The session's connection, for Core statements on a hot path.

    Executing there skips the ORM's per-statement work (about half the cost of a prebuilt
    statement); pending ORM changes are flushed first, so the statement sees them as
    ``session.execute`` would.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """A plain Core ``INSERT`` of ``rows`` in the session's transaction.

    For hot paths: the ORM's unit of work costs more Python than the rows themselves, and the
    identity map is of no use for rows this transaction only writes.
    """
    if rows:
        core(session).execute(_plain_insert(_table(model)), list(rows))


def insert_absent(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], *,
    unique: tuple[str, ...] | None, returning: str,
) -> list[Any]:
    """Insert the ``rows`` whose ``unique`` columns are not taken yet; the ``returning`` column
    of each row inserted. ``unique=None``: whose values take no unique constraint's place (on
    PostgreSQL a conflict on a constraint that is not the named target raises, even when the
    same concurrent insert conflicts on the target too).

    One ``INSERT ... ON CONFLICT DO NOTHING`` statement: it replaces "look it up, then insert in
    a savepoint in case someone was faster", which costs three round trips and a savepoint. On
    PostgreSQL a row a concurrent transaction is inserting makes this wait for its outcome.
    """
    if not rows:
        return []
    connection = core(session)
    statement = _insert_or_ignore(connection.dialect.name, _table(model), unique, returning)
    return list(connection.execute(statement, list(rows)).scalars())


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# Hot-path statements are built once: building one costs about as much as running it, and a
# statement object keeps its cache key, so SQLAlchemy finds the compiled form at once.
@functools.cache
def _plain_insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def _insert_or_ignore(
    dialect: str, table: Table, unique: tuple[str, ...] | None, returning: str
) -> ReturningInsert[Any]:
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    target = None if unique is None else list(unique)
    return insert.on_conflict_do_nothing(index_elements=target).returning(table.c[returning])


def alembic_config(bind: Engine | Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.attributes["connection"] = bind
    return config


def upgrade(bind: Engine | Connection, revision: str = "heads") -> None:
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    else:
        command.upgrade(alembic_config(bind), revision)
