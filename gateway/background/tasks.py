"""The module Celery loads: ``celery -A gateway.background.tasks:celery_app worker`` (or ``beat``).

Settings come from the environment like every other role. The container (keyring, database,
policies) is built on a worker's first task, never at import: beat only sends tasks by name and
runs without the keyring.
"""

from __future__ import annotations

from gateway.background.start import celery_app_for
from gateway.settings import Settings

celery_app = celery_app_for(Settings.from_env())
