"""Serves the app with gunicorn from inside the ``ketenpoort serve`` command."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from gateway.app import create_app
from gateway.auditing.runner import embedded_runner
from gateway.settings import Settings


class GatewayServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type information
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app after the fork: engines and interpreters are not shared.
        return serving_app(self._settings)


# Files the gateway creates (the SQLite database and its WAL and SHM, the keyring, lock files,
# exports) are for the gateway's own user only.
PRIVATE_UMASK = 0o077


def restrict_new_files() -> None:
    """Set the process umask so every file and folder the gateway creates is owner-only."""
    os.umask(PRIVATE_UMASK)


def serving_app(settings: Settings | None = None) -> Flask:
    """The app as each ``ketenpoort serve`` worker runs it, background work included.

    Also a gunicorn entry point for running under another gunicorn command line, as the
    benchmarks do: ``gunicorn 'gateway.server:serving_app()'`` (settings from the environment).
    """
    restrict_new_files()
    settings = settings or Settings.from_env()
    if settings.run_background_workers is None:  # serving is where the embedded drainer runs
        settings = settings.with_overrides(run_background_workers=True)
    app = create_app(settings)
    if settings.run_sequencer_in_process:
        # Several workers may each run one: the sequencer takes a database lock per batch.
        container = app.extensions["ketenpoort"]
        container.sequencer = embedded_runner(
            container.session_factory, container.keyring, settings.sequencer_interval_seconds,
        ).start()
    return app


def run(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    GatewayServer(settings, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "accesslog": "-",
        "worker_class": "gateway.server_errors.ProblemThreadWorker",
    }).run()
