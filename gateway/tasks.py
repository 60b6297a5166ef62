"""The Celery application for ``celery -A gateway.tasks:celery_app worker`` (and ``beat``).

Settings come from the environment like every other role. The container (keyring, database,
policies) is built on a worker's first task, never at import: beat only publishes and runs
without the keyring.
"""

from __future__ import annotations

from functools import cache

from gateway.container import Container, build_container
from gateway.outbox.dispatcher import Dispatcher
from gateway.outbox.tasks import make_celery, register_tasks
from gateway.retention.services import RetentionService
from gateway.retention.tasks import register_retention_task
from gateway.settings import Settings

settings = Settings.from_env()
celery_app = make_celery(settings)


@cache
def _container() -> Container:
    return build_container(settings)


def _dispatcher() -> Dispatcher:
    return _container().outbox_dispatcher


def _retention() -> RetentionService:
    return _container().retention


register_tasks(celery_app, _dispatcher, settings.task_queue)
register_retention_task(celery_app, _retention)
