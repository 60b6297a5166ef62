"""Keeping the sequencer running, and telling from the database whether it keeps up.

Entries are appended by the exchanges; they become tamper-evident only once the sequencer has
integrated them into the tree and signed a checkpoint over it. Two ways to run it:

* embedded: :class:`SequencerRunner` started as a daemon thread inside a gateway process;
* production: ``ketenpoort audit sequencer`` runs :meth:`SequencerRunner.run_forever` as its
  own process. Several instances are safe: the sequencer serialises on a database lock.

:func:`audit_readiness` reads only the database, so any gateway process can tell whether the
log is being sealed (by whichever process runs the sequencer) and refuse new exchanges when
it has not been for too long: an exchange whose record cannot be sealed is not verifiable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from audit.log import Sequencer
from audit.models import AuditEntry, Checkpoint
from gateway.db import read_only
from gateway.problems import Problem, unavailable

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "audit-checkpoint"
DEFAULT_INTERVAL_SECONDS = 1.0
DEFAULT_MAX_LAG_SECONDS = 60.0
# After consecutive failures the runner waits longer, up to this many intervals, so a database
# outage is not hammered once a second; the first success resets it.
MAX_BACKOFF_FACTOR = 30

Clock = Callable[[], datetime]


@dataclass
class _State:
    last_success_at: datetime | None = None
    last_checkpoint_at: datetime | None = None
    last_checkpoint_size: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class SequencerRunner:
    """Runs :meth:`Sequencer.run_once` every ``interval_seconds`` until stopped."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sequencer: Sequencer,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
        *,
        clock: Clock,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._session_factory = session_factory
        self._sequencer = sequencer
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._state = _State()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SequencerRunner:
        """Run in a daemon thread (the embedded default); returns ``self``."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the sequencer runner is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_forever, name="audit-sequencer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the loop to end after the current run and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_forever(self) -> None:
        """The loop: run, then wait an interval (longer after failures), until :meth:`stop`."""
        log.info("audit sequencer running every %.3g s", self.interval_seconds)
        while not self._stop.is_set():
            self.run_once()
            with self._state.lock:
                factor = min(2 ** self._state.consecutive_failures, MAX_BACKOFF_FACTOR)
            self._stop.wait(self.interval_seconds * factor)
        log.info("audit sequencer stopped")

    def run_once(self) -> bool:
        """One sequencer run; never raises. Returns whether it succeeded."""
        try:
            integrated = self._sequencer.run_once()
            latest = self._latest_checkpoint()
        except Exception as error:
            # Survive anything: a dead sequencer thread would silently stop sealing the log.
            # The traceback goes to the log; health() carries the error's type only, since a
            # database error's message can quote the statement's parameters.
            log.exception("audit sequencer run failed")
            with self._state.lock:
                self._state.last_error = type(error).__name__
                self._state.last_error_at = self._clock()
                self._state.consecutive_failures += 1
            return False
        with self._state.lock:
            self._state.last_success_at = self._clock()
            self._state.last_error = None
            self._state.consecutive_failures = 0
            if latest is not None:
                self._state.last_checkpoint_size, self._state.last_checkpoint_at = latest
        if integrated:
            log.debug("audit sequencer integrated %d entries", integrated)
        return True

    def _latest_checkpoint(self) -> tuple[int, datetime] | None:
        with self._session_factory() as session:
            row = session.execute(
                select(Checkpoint.tree_size, Checkpoint.issued_at)
                .order_by(Checkpoint.tree_size.desc())
                .limit(1)
            ).first()
        return None if row is None else (row.tree_size, row.issued_at)

    def health(self) -> dict[str, Any]:
        """This runner's view: when it last succeeded, how long ago, its last error."""
        now = self._clock()
        with self._state.lock:
            state = self._state
            lag = None if state.last_success_at is None else (
                (now - state.last_success_at).total_seconds()
            )
            return {
                "running": self.running,
                "interval_seconds": self.interval_seconds,
                "last_success_at": _iso(state.last_success_at),
                "lag_seconds": lag,
                "last_checkpoint_at": _iso(state.last_checkpoint_at),
                "last_checkpoint_tree_size": state.last_checkpoint_size,
                "error": state.last_error,
                "error_at": _iso(state.last_error_at),
                "consecutive_failures": state.consecutive_failures,
            }


def audit_readiness(
    session_factory: sessionmaker[Session],
    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS,
    *,
    clock: Clock,
) -> tuple[bool, dict[str, Any]]:
    """Is every entry sealed by a signed checkpoint within ``max_lag_seconds`` of being written?

    The lag is the age of the oldest *unsealed* entry: one still waiting for its tree position
    (the sequencer is not running) or integrated beyond the newest checkpoint (signing fails).
    A quiet log with everything sealed is ready however old its last checkpoint is, since the
    sequencer only signs when the tree has grown. Read from the database alone, so it holds
    whichever process runs the sequencer.
    """
    try:
        return _readiness(session_factory, max_lag_seconds, clock)
    except SQLAlchemyError as error:
        # Fail closed: a log whose state cannot be read is not known to be sealed.
        log.warning("audit readiness check failed: %s", type(error).__name__)
        return False, {"ok": False, "error": type(error).__name__,
                       "max_lag_seconds": max_lag_seconds}


def _readiness(
    session_factory: sessionmaker[Session], max_lag_seconds: float, clock: Clock
) -> tuple[bool, dict[str, Any]]:
    # Asked on the request path: a read that must not queue behind SQLite's writers.
    with read_only(session_factory) as session:
        signed_size = session.scalar(select(func.max(Checkpoint.tree_size))) or 0
        latest_checkpoint_at = session.scalar(
            select(Checkpoint.issued_at).order_by(Checkpoint.tree_size.desc()).limit(1)
        )
        # Uses the partial index on pending rows: the oldest by id is the first written.
        oldest_pending = session.scalar(
            select(AuditEntry.recorded_at)
            .where(AuditEntry.tree_index.is_(None))
            .order_by(AuditEntry.id)
            .limit(1)
        )
        # Integrated but unsigned: a short range of the unique tree_index index.
        oldest_unsigned = session.scalar(
            select(func.min(AuditEntry.recorded_at)).where(AuditEntry.tree_index >= signed_size)
        )
    unsealed = [moment for moment in (oldest_pending, oldest_unsigned) if moment is not None]
    oldest = min(unsealed) if unsealed else None
    lag = 0.0 if oldest is None else max(0.0, (clock() - oldest).total_seconds())
    ok = lag <= max_lag_seconds
    return ok, {
        "ok": ok,
        "lag_seconds": round(lag, 3),
        "max_lag_seconds": max_lag_seconds,
        "oldest_unsealed_at": _iso(oldest),
        "signed_tree_size": signed_size,
        "latest_checkpoint_at": _iso(latest_checkpoint_at),
    }


class AuditGate:
    """Refuses new exchanges while the log is not being sealed: call :meth:`check` first.

    The answer is cached for ``cache_seconds`` so a busy gateway asks the database about it
    at most that often, not once per exchange.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS,
        *,
        cache_seconds: float = 1.0,
        clock: Clock,
    ) -> None:
        self._session_factory = session_factory
        self.max_lag_seconds = max_lag_seconds
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[datetime, bool, dict[str, Any]] | None = None

    def status(self) -> tuple[bool, dict[str, Any]]:
        now = self._clock()
        with self._lock:
            if self._cached is not None:
                at, ok, detail = self._cached
                if 0 <= (now - at).total_seconds() < self._cache_seconds:
                    return ok, detail
        ok, detail = audit_readiness(self._session_factory, self.max_lag_seconds,
                                     clock=self._clock)
        with self._lock:
            self._cached = (now, ok, detail)
        return ok, detail

    def check(self) -> None:
        """Raise a 503 problem when the oldest unsealed entry is older than allowed."""
        ok, detail = self.status()
        if not ok:
            raise audit_lagging(detail)


def audit_lagging(detail: dict[str, Any]) -> Problem:
    if "error" in detail:
        return unavailable(
            "audit-state-unavailable",
            "the audit log's state cannot be read, so no exchange is accepted; nothing was "
            "changed, retry",
        )
    return unavailable(
        "audit-sealing-lagging",
        f"audit records have waited {detail['lag_seconds']:.0f} s for a signed checkpoint "
        f"(at most {detail['max_lag_seconds']:.0f} s allowed); no exchange is accepted until "
        "the audit sequencer catches up; nothing was changed",
    )



def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
