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
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, MetaData, Table, create_engine, event, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import Insert, ReturningInsert
from sqlalchemy.types import TypeDecorator

from gateway.clock import SYSTEM_CLOCK, Clock, RecordStamps

T = TypeVar("T")

MIGRATIONS_PATH = Path(__file__).resolve().parent / "migrations"
# Execution option marking a transaction that only reads (see :func:`read_only`).
READ_ONLY = "ketenpoort_read_only"
SQLITE_BUSY_TIMEOUT_MS = 5000
DURABLE = "FULL"
SQLITE_SYNCHRONOUS = (DURABLE, "NORMAL")
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


#: Where a session factory keeps the product's clock that stamps the records it writes.
RECORD_CLOCK = "ketenpoort.record_clock"


_WALL_CLOCK_STAMPS = RecordStamps(SYSTEM_CLOCK)


def is_uuid(candidate: str) -> bool:
    """Whether ``candidate`` is an id in the form the gateway stores (a UUID as text).

    Ids from a request's path are sent to the database only then: PostgreSQL refuses a NUL
    byte (a 5xx where SQLite says "not found"), so an unknown id must never get that far.
    """
    try:
        return str(uuid.UUID(candidate)) == candidate
    except ValueError:
        return False


def record_time(context: Any) -> datetime:
    """Column default for record times: the clock of the session that writes the row.

    Rules compare these times with the injected clock (retention terms, rate windows, ages), so
    they must come from that same clock; a connection used outside a session (a tool writing
    with the engine) stamps with the wall clock.
    """
    return _stamps(context.root_connection.info).stamp()


def session_now(session: Session) -> datetime:
    """This moment on the clock of the session's factory."""
    return _stamps(session.info).clock.now()


def clock_of(factory: sessionmaker[Session]) -> Clock:
    """The clock that stamps the records of ``factory``'s sessions."""
    return _stamps(factory.kw.get("info", {})).clock


def _stamps(info: Mapping[str, Any]) -> RecordStamps:
    return cast(RecordStamps, info.get(RECORD_CLOCK, _WALL_CLOCK_STAMPS))


@event.listens_for(Session, "after_begin")
def _lend_the_clock_to_the_connection(
    session: Session, transaction: Any, connection: Connection
) -> None:
    connection.info[RECORD_CLOCK] = _stamps(session.info)


def make_engine(url: str, *, sqlite_synchronous: str = DURABLE, **kwargs: Any) -> Engine:
    """An engine for ``url``. On SQLite every commit is durable (``synchronous=FULL``: on disk
    before the commit returns) unless ``sqlite_synchronous`` relaxes it to ``NORMAL``, which
    can lose the last commits, answered and audited, on power loss (never on a process crash)."""
    if url.startswith("sqlite"):
        if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}")
        engine = create_engine(url, **kwargs)
        _restrict_sqlite_files(engine.url.database)
        _make_sqlite_transactional(engine, sqlite_synchronous)
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


def _make_sqlite_transactional(engine: Engine, synchronous: str) -> None:
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
        cursor.execute(f"PRAGMA synchronous={synchronous}")
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


def make_session_factory(
    bind: Engine | Connection, clock: Clock = SYSTEM_CLOCK
) -> sessionmaker[Session]:
    """Sessions on ``bind`` whose records are stamped by ``clock``."""
    info = {RECORD_CLOCK: RecordStamps(clock)}
    if isinstance(bind, Connection):
        # Tests hand in a connection inside an outer transaction; commits become savepoints.
        return sessionmaker(bind=bind, expire_on_commit=False, info=info,
                            join_transaction_mode="create_savepoint")
    return sessionmaker(bind=bind, expire_on_commit=False, info=info)


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


@contextmanager
def rehearsal(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that is always rolled back: for dry runs of destructive commands."""
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
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


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], *,
                batched: bool = False) -> None:
    """A plain Core ``INSERT`` of ``rows`` in the session's transaction.

    For hot paths: the ORM's unit of work costs more Python than the rows themselves, and the
    identity map is of no use for rows this transaction only writes. ``batched``: inside a
    :class:`GroupCommitter` batch the rows wait for the end of the batch and go in with the
    other units' rows of the table, in one statement; only for rows nothing in the transaction
    reads or refers to before then, and whose failure may surface there (the batch is then run
    again unit by unit, where it surfaces here).
    """
    if not rows:
        return
    waiting: _BatchRows | None = session.info.get(_BATCH_ROWS)
    if batched and waiting is not None:
        waiting.add(_table(model), rows)
        return
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


def upgrade(bind: Engine | Connection, revision: str = "head") -> None:
    """Migrate up to ``revision`` (default: the newest), in one transaction."""
    _in_transaction(bind, lambda connection: command.upgrade(alembic_config(connection),
                                                             revision))


def downgrade(bind: Engine, revision: str, *, dry_run: bool = False) -> tuple[str, ...]:
    """Migrate down to ``revision`` (a revision id, ``-N`` steps or ``base``); the revision the
    database is at afterwards (none at base).

    A dry run migrates in the same way inside the transaction and then rolls it back (both
    backends undo schema changes with the transaction), so it fails where the real run would.
    """
    with bind.connect() as connection:
        transaction = connection.begin()
        try:
            _join_branch_heads(connection)
            command.downgrade(alembic_config(connection), revision)
            reached = current_revisions(connection)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return reached


def _in_transaction(bind: Engine | Connection, migrate: Callable[[Connection], None]) -> None:
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            _join_branch_heads(connection)
            migrate(connection)
    else:
        _join_branch_heads(bind)
        migrate(bind)


def _join_branch_heads(connection: Connection) -> None:
    """Record only the newest revision of a database migrated while the history had branches.

    Releases before the history was made linear kept one Alembic branch per room, and a
    database records each branch's head. The linear history orders the revisions as they were
    added to the code, and every release migrated to all its heads, so such a database holds
    exactly the revisions up to the newest one it records: that one alone stands for them.
    """
    recorded = MigrationContext.configure(connection).get_current_heads()
    if len(recorded) < 2:
        return
    order = [script.revision for script in
             reversed(list(ScriptDirectory(str(MIGRATIONS_PATH)).walk_revisions()))]
    unknown = set(recorded) - set(order)
    if unknown:
        raise RuntimeError(f"the database records unknown revisions {sorted(unknown)}: "
                           "it was migrated by a newer release")
    newest = max(recorded, key=order.index)
    connection.execute(text("DELETE FROM alembic_version WHERE version_num <> :newest"),
                       {"newest": newest})


@dataclass(frozen=True)
class Revision:
    """One migration as ``ketenpoort db history`` lists it."""

    revision: str
    down_revisions: tuple[str, ...]
    summary: str
    applied: bool
    current: bool


def current_revisions(bind: Engine | Connection) -> tuple[str, ...]:
    """The revisions the database records as applied last (none: an empty database)."""
    with _connection(bind) as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def head_revisions() -> tuple[str, ...]:
    """The newest revisions this release ships: one, as the history is linear."""
    return tuple(sorted(ScriptDirectory(str(MIGRATIONS_PATH)).get_heads()))


def history(bind: Engine | Connection) -> list[Revision]:
    """Every migration, newest first, with whether the database has it."""
    scripts = ScriptDirectory(str(MIGRATIONS_PATH))
    current = set(current_revisions(bind))
    applied = {revision.revision for revision in scripts.iterate_revisions(
        tuple(current), "base")} if current else set()
    return [
        Revision(revision=script.revision, down_revisions=_as_tuple(script.down_revision),
                 summary=(script.doc or "").splitlines()[0] if script.doc else "",
                 applied=script.revision in applied, current=script.revision in current)
        for script in scripts.walk_revisions()
    ]


def _as_tuple(down_revision: str | Sequence[str] | None) -> tuple[str, ...]:
    if down_revision is None:
        return ()
    return (down_revision,) if isinstance(down_revision, str) else tuple(down_revision)


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            yield connection
    else:
        yield bind


@dataclass
class _Work(Generic[T]):
    """One caller's share of a group commit, and what became of it."""

    unit: Callable[[Session], T]
    wake: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    finished: bool = False
    value: T | None = None
    error: Exception | None = None


class GroupCommitter:
    """Commits the units of work of concurrent callers in one transaction (group commit).

    With a durable commit (``synchronous=FULL`` on SQLite, ``fsync`` on PostgreSQL) the flush
    to disk, and on SQLite the one writer lock, cost more than the statements; callers that
    arrive while a commit is under way are batched into the next one. No thread of its own:
    the first caller to find no commit under way leads, runs every queued unit in its own
    session, each under a savepoint (a failing unit takes only itself down), commits once and
    wakes the others; then the oldest caller still waiting leads the next batch. A caller
    alone runs its unit like :func:`transaction` does, in its own thread and connection.

    Rows the units write with ``insert_rows(..., batched=True)`` go in after the last unit, one
    statement per table for the whole batch (a multi-row ``INSERT`` on PostgreSQL, one
    ``executemany`` on SQLite) instead of one per unit. Should that statement fail, the batch is
    rolled back and run once more with each unit writing its own rows under its savepoint, so
    a failing unit still takes only itself down.

    Each caller gets its unit's value or exception once the batch has committed; if the
    commit fails, every unit of the batch fails with that error: nothing of it was stored.
    """

    def __init__(self, factory: sessionmaker[Session], max_batch: int = 64) -> None:
        self._factory = factory
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Work[Any]] = []
        self._busy = False

    @property
    def queued(self) -> int:
        """Units waiting for the next commit (a gauge of write pressure)."""
        with self._lock:
            return len(self._queue)

    def run(self, unit: Callable[[Session], T]) -> T:
        work = _Work(unit)
        with self._lock:
            self._queue.append(work)
            if not self._busy:
                self._busy = work.leads = True
        while not work.finished:
            if work.leads:
                self._lead()
            else:
                work.wake.wait()
                work.wake.clear()
        if work.error is not None:
            raise work.error
        return work.value  # type: ignore[return-value]  # set whenever no error is

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
        committed = False
        try:
            _commit_together(self._factory, batch)
            committed = True
        finally:  # whatever happened, the next batch gets a leader and this one its answers
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].wake.set()
                else:
                    self._busy = False
            for work in batch:
                if not committed and work.error is None:
                    work.error = InterruptedError("the commit was interrupted; nothing stored")
                work.finished = True
                work.wake.set()


_BATCH_ROWS = "ketenpoort_batch_rows"


class _BatchRows:
    """The ``batched`` rows of a batch's units, by table in the order the tables came."""

    def __init__(self) -> None:
        self.tables: dict[Table, list[Mapping[str, Any]]] = {}
        self._unit: dict[Table, list[Mapping[str, Any]]] = {}

    def add(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        self._unit.setdefault(table, []).extend(rows)

    def keep_the_unit(self, kept: bool) -> None:
        """End a unit: its rows join the batch's if it succeeded, else they are dropped."""
        if kept:
            for table, rows in self._unit.items():
                self.tables.setdefault(table, []).extend(rows)
        self._unit = {}


class _BatchedRowsRefused(Exception):
    """The statement of the batch's rows failed: a unit's row, or the connection."""


def _commit_together(factory: sessionmaker[Session], batch: list[_Work[Any]]) -> None:
    if len(batch) > 1:
        try:
            _commit(factory, batch, rows=_BatchRows())
            return
        except _BatchedRowsRefused:
            # Whose row it was, one statement cannot tell: nothing of the batch was stored,
            # so it runs again with every unit writing its own rows under its own savepoint.
            for work in batch:
                work.value = work.error = None
    _commit(factory, batch, rows=None)


def _commit(factory: sessionmaker[Session], batch: list[_Work[Any]], *,
            rows: _BatchRows | None) -> None:
    try:
        with transaction(factory) as session:
            if rows is not None:
                session.info[_BATCH_ROWS] = rows
            for work in batch:
                _run_unit(session, work, alone=len(batch) == 1)
                if rows is not None:
                    rows.keep_the_unit(work.error is None)
            if rows is not None:
                _insert_batch_rows(session, rows)
    except _BatchedRowsRefused:
        raise
    except Exception as error:  # the commit itself failed: none of the batch was stored
        for work in batch:
            work.value, work.error = None, work.error or error


def _insert_batch_rows(session: Session, rows: _BatchRows) -> None:
    try:
        for table, table_rows in rows.tables.items():
            core(session).execute(_plain_insert(table), table_rows)
    except DBAPIError as error:
        raise _BatchedRowsRefused from error


def _run_unit(session: Session, work: _Work[Any], *, alone: bool) -> None:
    if alone:  # no neighbour to protect: the savepoint's two statements are saved
        work.value = work.unit(session)
        return
    try:
        with session.begin_nested():
            work.value = work.unit(session)
    except IntegrityError as error:  # this unit alone is rolled back; its neighbours go on
        work.error = error
    except (DBAPIError, InvalidRequestError):
        raise  # the connection or transaction itself broke: the whole batch fails with it
    except Exception as error:  # a unit's own failure, not the database's
        work.error = error
