"""The embedded drainer: the outbox dispatcher in a background thread of the gateway process.

Used when ``task_mode`` is ``inprocess`` (no broker). It is also that mode's publisher: a
commit that queued rows wakes it, so a request never waits for a delivery to be sent. It runs
what beat schedules under Celery too (``every``), such as retention.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway.outbox.dispatcher import Dispatcher

log = logging.getLogger(__name__)


@dataclass
class BackgroundDrainer:
    dispatcher: Dispatcher
    interval_seconds: float
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _jobs: list[_PeriodicJob] = field(default_factory=list)

    def publish(self, message_ids: Sequence[str]) -> None:
        self._wake.set()

    def drain_once(self) -> int:
        """Dispatch every due message once; returns how many were looked at."""
        due = self.dispatcher.due_messages()
        for message_id in due:
            self.dispatcher.dispatch(message_id)
        return len(due)

    def every(self, interval_seconds: float, job: Callable[[], object]) -> None:
        self._jobs.append(_PeriodicJob(interval_seconds, job))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox-drainer",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            for work in (self.drain_once, *(j.run_if_due for j in self._jobs)):
                try:
                    work()
                except Exception:
                    # The thread must outlive a database hiccup; the work waits meanwhile.
                    log.exception("background work failed; trying again shortly")
            self._wake.wait(self.interval_seconds)
            self._wake.clear()


@dataclass
class _PeriodicJob:
    interval_seconds: float
    job: Callable[[], object]
    last_run: float | None = None

    def run_if_due(self) -> None:
        now = time.monotonic()
        if self.last_run is None or now - self.last_run >= self.interval_seconds:
            self.last_run = now
            self.job()
