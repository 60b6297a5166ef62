"""``serving_app``: the app every ``ketenpoort serve`` worker (and the benchmark) runs."""

from __future__ import annotations

import threading
from pathlib import Path

from gateway.instance import initialise
from gateway.server import serving_app
from gateway.settings import Settings

BACKGROUND_THREADS = {"outbox-drainer", "audit-sequencer"}


def _background_threads() -> set[str]:
    return {t.name for t in threading.enumerate()} & BACKGROUND_THREADS


def test_a_serving_worker_drains_the_outbox_and_seals_the_audit_log(tmp_path: Path) -> None:
    settings = Settings(instance_path=tmp_path / "instance")
    initialise(settings)
    before = _background_threads()

    container = serving_app(settings).extensions["ketenpoort"]
    try:
        assert container.outbox_drainer.running
        assert _background_threads() - before == BACKGROUND_THREADS
    finally:
        container.outbox_drainer.stop()
        container.sequencer.stop()


def test_background_work_can_be_left_to_separate_services(tmp_path: Path) -> None:
    settings = Settings(instance_path=tmp_path / "instance", run_background_workers=False,
                        run_sequencer_in_process=False)
    initialise(settings)

    container = serving_app(settings).extensions["ketenpoort"]

    assert not container.outbox_drainer.running
    assert getattr(container, "sequencer", None) is None
