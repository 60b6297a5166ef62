"""The Celery app's reliability settings and schedule, as compose's worker and beat load it."""

from __future__ import annotations

from gateway.background.broker import (
    DEADLINES_TASK,
    DISPATCH_TASK,
    RETENTION_TASK,
    SWEEP_TASK,
    make_celery,
)
from gateway.background.tasks import celery_app
from gateway.settings import Settings


def test_tasks_travel_as_json_and_are_acknowledged_only_after_running() -> None:
    conf = make_celery(Settings(task_queue="q")).conf

    assert (conf.task_serializer, list(conf.accept_content)) == ("json", ["json"])
    assert conf.task_acks_late
    assert conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_default_queue == "q"


def test_the_worker_knows_every_task_beat_schedules() -> None:
    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}

    assert scheduled == {SWEEP_TASK, RETENTION_TASK, DEADLINES_TASK}
    assert {DISPATCH_TASK, *scheduled} <= set(celery_app.tasks)
