"""The Celery application: its configuration, beat schedule, tasks and publisher.

Reliability settings: JSON only; a task is acknowledged only after it ran (``acks_late``) and
is given back to the broker if its worker dies (``reject_on_worker_lost``); a worker holds one
unacknowledged task at a time (prefetch 1), so a killed worker strands at most one. Every
effect of a task is keyed (dispatch rows, leases, delivery ids), so a redelivered task does
nothing twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from celery import Celery

from gateway.logs import TRACEPARENT_HEADER, TraceContext, current_trace, traced
from gateway.outbox.dispatcher import Dispatcher
from gateway.retention.services import RetentionService
from gateway.settings import Settings

log = logging.getLogger(__name__)

DISPATCH_TASK = "ketenpoort.outbox.dispatch"
SWEEP_TASK = "ketenpoort.outbox.sweep"
RETENTION_TASK = "ketenpoort.retention.run"
DEADLINES_TASK = "ketenpoort.cases.deadlines"


def make_celery(settings: Settings) -> Celery:
    app = Celery("ketenpoort", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=settings.task_queue,
        broker_connection_timeout=settings.broker_connect_timeout_seconds,
        broker_connection_retry_on_startup=True,
        # Publishing happens after a request's commit: with the broker down, give up at once
        # (the rows wait for the sweep) instead of holding the request in kombu's retry loop.
        broker_transport_options={"max_retries": 1, "interval_start": 0,
                                  "interval_step": 0.2, "interval_max": 0.2},
        beat_schedule={
            "outbox-sweep": {"task": SWEEP_TASK, "schedule": settings.outbox_sweep_seconds},
            "retention": {"task": RETENTION_TASK,
                          "schedule": settings.retention_interval_seconds},
            # Deadlines are counted in days: the retention interval is prompt enough.
            "deadlines": {"task": DEADLINES_TASK,
                          "schedule": settings.retention_interval_seconds},
        },
    )
    return app


@dataclass
class CeleryPublisher:
    """One dispatch task per committed outbox row; a broker that is down only delays them."""

    app: Celery
    queue: str

    def publish(self, message_ids: Sequence[str]) -> None:
        trace = current_trace()
        headers = {} if trace is None else {TRACEPARENT_HEADER: trace.traceparent}
        for message_id in message_ids:
            try:
                self.app.send_task(DISPATCH_TASK, args=[message_id], queue=self.queue,
                                   retry=False, headers=headers)
            except Exception as exc:
                # Committed and pending: the next sweep publishes these rows again. The rest
                # are not tried now; each would wait for the same unreachable broker.
                log.warning("publishing %d outbox row(s) failed (%s); the sweep will retry",
                            len(message_ids), exc)
                return


def register_tasks(
    app: Celery, dispatcher: Callable[[], Dispatcher], retention: Callable[[], RetentionService],
    queue: str, deadlines: Callable[[], Callable[[], int]],
) -> None:
    """Bind the tasks to ``app``; the services are built on first use, inside the worker."""

    @app.task(name=DISPATCH_TASK, bind=True, max_retries=None)  # type: ignore[untyped-decorator]  # celery is untyped
    def dispatch(task: Any, message_id: str) -> None:
        service = dispatcher()
        with traced(_task_trace(task.request)):
            log.info("dispatching outbox message", extra={"outbox_message": message_id})
            retry_at = service.dispatch(message_id)
        if retry_at is not None:
            raise task.retry(countdown=max(0.0, (retry_at - service.clock()).total_seconds()))

    @app.task(name=SWEEP_TASK)  # type: ignore[untyped-decorator]  # celery is untyped
    def sweep() -> int:
        due = dispatcher().due_messages()
        CeleryPublisher(app, queue).publish(due)
        return len(due)

    @app.task(name=RETENTION_TASK)  # type: ignore[untyped-decorator]  # celery is untyped
    def run_retention() -> dict[str, int]:
        return asdict(retention().run())

    @app.task(name=DEADLINES_TASK)  # type: ignore[untyped-decorator]  # celery is untyped
    def notify_overdue() -> int:
        return deadlines()()


def _task_trace(request: Any) -> TraceContext | None:
    """The trace the publishing request passed in the task's headers; a span of this task."""
    traceparent = getattr(request, TRACEPARENT_HEADER, None) or (
        request.headers or {}).get(TRACEPARENT_HEADER)
    if not isinstance(traceparent, str):
        return None
    return TraceContext.from_headers(None, traceparent)


class OffRequestPublisher:
    """Hands publishing to one background thread so no request ever waits for the broker.

    A broker that accepts connections but never answers would otherwise hold every exchange
    for the connect timeout. The rows are already committed and pending; whatever this thread
    fails to publish, beat's sweep publishes later.
    """

    def __init__(self, inner: CeleryPublisher) -> None:
        self._inner = inner
        # Each batch with the trace of the request that committed it: the thread publishes
        # under that trace, so the task headers carry it.
        self._queue: queue.SimpleQueue[tuple[list[str], TraceContext | None]] = (
            queue.SimpleQueue())
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def publish(self, message_ids: Sequence[str]) -> None:
        self._ensure_thread()
        self._queue.put((list(message_ids), current_trace()))

    def _ensure_thread(self) -> None:
        # Started lazily, after gunicorn forks its workers, never at import or app creation.
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbox-publisher",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            message_ids, trace = self._queue.get()
            with traced(trace):
                self._inner.publish(message_ids)
