"""``serving_app``: the app every ``ketenpoort serve`` worker (and the benchmark) runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from gateway.instance import initialise
from gateway.server import serving_app
from gateway.settings import Settings

BACKGROUND_THREADS = {"outbox-drainer", "audit-sequencer"}
ROOT = Path(__file__).resolve().parent.parent
PSEUDONYM = "ap-5e1d0c9b7a3f4e21"
REQUESTS = 6


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)  # noqa: S310 -- a local http URL
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("ketenpoort serve did not come up")


def test_ketenpoort_serve_logs_json_without_the_query_and_sums_metrics_over_workers(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {**os.environ, "KETENPOORT_INSTANCE": str(tmp_path / "instance"),
           "KETENPOORT_METRICS_TOKEN": "scrape-me", "KETENPOORT_RUN_BACKGROUND_WORKERS": "false",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from gateway.cli import main; main()"]
    subprocess.run([*command, "init"], env=env, check=True, capture_output=True)  # noqa: S603 -- our own console script
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 -- our own console script
        [*command, "serve", "--port", str(port), "--workers", "2", "--threads", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_serving(url, server)
        for _ in range(REQUESTS):
            with contextlib.suppress(urllib.error.HTTPError):  # 401: no token, as intended
                urllib.request.urlopen(f"{url}/v1/audit/events?pseudonym={PSEUDONYM}")  # noqa: S310 -- a local http URL
        scrape = urllib.request.Request(f"{url}/metrics",  # noqa: S310 -- a local http URL
                                        headers={"Authorization": "Bearer scrape-me"})
        metrics = urllib.request.urlopen(scrape).read().decode()  # noqa: S310 -- a local http URL
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)

    logged = (stdout + stderr).decode()
    lines = [json.loads(line) for line in logged.splitlines()]
    assert PSEUDONYM not in logged
    assert {"timestamp", "level", "logger", "message"} <= set(lines[0])
    access = [line for line in lines if line["logger"] == "gateway.access"
              and line["route"] == "/v1/audit/events"]
    assert len(access) == REQUESTS
    assert all(line["request_id"] and line["traceparent"] for line in access)
    assert (f'ketenpoort_http_requests_total{{method="GET",route="/v1/audit/events",'
            f'status="401"}} {float(REQUESTS)}') in metrics
