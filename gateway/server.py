"""Serves the app with gunicorn from inside the ``ketenpoort serve`` command."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess

from gateway.app import create_app
from gateway.background.start import start_serving
from gateway.logs import logging_config
from gateway.settings import Settings

log = logging.getLogger(__name__)


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
#: Seconds a worker gets to finish its requests after SIGTERM; orchestrators must wait longer
#: (compose stop_grace_period, Kubernetes terminationGracePeriodSeconds: tests/docker).
GRACEFUL_TIMEOUT_SECONDS = 30


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
    start_serving(app.extensions["ketenpoort"])
    return app


def workspace_url(host: str, port: int) -> str:
    """Where people open the workspace: its cookies are Secure, which browsers honour on plain
    HTTP for ``localhost`` only, not for ``127.0.0.1``."""
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    return f"http://{shown}:{port}/werkruimte/"


def gunicorn_options(
    settings: Settings, *, host: str, port: int, workers: int, threads: int
) -> dict[str, Any]:
    """JSON log lines for gunicorn's own messages too; no gunicorn access log, since its lines
    hold the path and query string as sent: the app writes one access line per request with the
    route template instead (gateway.observability.views)."""
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "threads": threads,
        "accesslog": None,
        "logconfig_dict": logging_config(settings.log_level),
        "worker_class": "gateway.server_errors.ProblemThreadWorker",
        # A log line like every other, so the output stays one JSON object per line.
        "when_ready": lambda _server: log.info("workspace for people: %s",
                                               workspace_url(host, port)),
    }
    if settings.prometheus_multiproc_dir:
        metrics_dir = Path(settings.prometheus_multiproc_dir)
        options["on_starting"] = lambda _server: _empty_metrics_dir(metrics_dir)
        options["child_exit"] = lambda _server, worker: multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
            worker.pid, str(metrics_dir))
    elif workers > 1:
        log.warning("PROMETHEUS_MULTIPROC_DIR is not set: /metrics counts only the requests "
                    "of the worker that answers the scrape")
    return options


def _empty_metrics_dir(path: Path) -> None:
    """Counts of an earlier run would be added to this one's: start from an empty folder."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def run(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    GatewayServer(settings, gunicorn_options(
        settings, host=host, port=port, workers=workers, threads=threads)).run()
