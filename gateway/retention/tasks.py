"""Retention as a Celery beat task; ``ketenpoort retention run`` does the same by hand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from celery import Celery

from gateway.retention.services import RetentionService

RETENTION_TASK = "ketenpoort.retention.run"


def register_retention_task(app: Celery, retention: Callable[[], RetentionService]) -> None:
    @app.task(name=RETENTION_TASK)  # type: ignore[untyped-decorator]  # celery is untyped
    def run_retention() -> dict[str, int]:
        return asdict(retention().run())
