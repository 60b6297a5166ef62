"""Start and stop gunicorn servers for the benchmarks, and read their workers' memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GATEWAY_APP = "gateway.server:serving_app()"  # as each `ketenpoort serve` worker runs it
FLOOR_APP = "bench.floor_app:create_floor_app()"
WORKERS = 2
THREADS = 4  # the ``ketenpoort serve`` default


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def worker_rss_kib(self) -> dict[int, int]:
        return {pid: rss_kib(pid) for pid in self.worker_pids()}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn(app: str, environment: Mapping[str, str], log: Path) -> Iterator[Server]:
    """Serve ``app`` like ``ketenpoort serve`` does (2 gthread workers), minus the access log."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
               "--worker-class", "gthread", "--threads", str(THREADS),
               "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5", app]
    env = {**os.environ, **environment, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)  # noqa: S603 -- our own interpreter and arguments
    server = Server(port, process)
    try:
        _wait_until_serving(server, log)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(server: Server, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.2):
                pass
        except OSError:
            time.sleep(0.1)
            continue
        if len(server.worker_pids()) == WORKERS:
            return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start within {timeout} s; see {log}")
