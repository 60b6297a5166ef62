"""One function per kind of process that runs background work.

* ``ketenpoort serve`` (each gunicorn worker): :func:`start_serving` starts the embedded drainer
  (with retention on its schedule) and the audit sequencer, as the settings ask;
* Celery worker and beat: :func:`celery_app_for` gives the application both load, its tasks
  bound to services that are built on the worker's first task.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Celery
from celery.signals import setup_logging

from gateway.background.broker import make_celery, register_tasks
from gateway.container import Container, build_container
from gateway.logs import configure_logging
from gateway.settings import Settings


def start_serving(container: Container) -> None:
    """Start this serving process's share of the background work."""
    settings = container.settings
    drainer = container.outbox_drainer
    if settings.run_background_workers and drainer is not None:
        drainer.every(settings.retention_interval_seconds, container.retention.run)
        # Step terms are counted in days: the retention interval is prompt enough.
        drainer.every(settings.retention_interval_seconds, container.cases.notify_overdue)
        drainer.start()
    if settings.run_sequencer_in_process:
        # Several workers may each run one: the sequencer takes a database lock per batch.
        container.sequencer = container.sequencer_runner().start()


def celery_app_for(settings: Settings) -> Celery:
    """The Celery application of worker and beat alike (beat only reads its schedule)."""
    app = make_celery(settings)

    @cache
    def container() -> Container:
        return build_container(settings)

    register_tasks(app, lambda: container().outbox_dispatcher, lambda: container().retention,
                   settings.task_queue, lambda: container().cases.notify_overdue)

    # With a receiver here Celery leaves its own log set-up out: worker and beat write the
    # JSON lines every other process writes.
    @setup_logging.connect(weak=False, dispatch_uid="ketenpoort-json-logs")  # type: ignore[untyped-decorator]  # celery ships no type information
    def _json_logs(**_kwargs: Any) -> None:
        configure_logging(settings.log_level)

    return app
