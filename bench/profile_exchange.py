"""Profile the exchange path in one process: where does a ``POST /v1/exchanges`` spend its time?

    python -m bench.profile_exchange [--backend sqlite] [--exchanges 2000] [--out profile.txt]
    python -m bench.profile_exchange --cpu [--backend sqlite] [--exchanges 2000]

Runs the real app (Flask test client, no network) on a fresh demo instance with the benchmark
workload under cProfile and prints the functions with the most cumulative and own time. With
``--cpu`` it runs without the profiler and prints the process's CPU time per exchange (this
process only: PostgreSQL's own work is not in it), which other load on the machine barely moves.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.exchange_bench import PEOPLE, bench_instance, partner_tokens
from bench.workload import Workload
from gateway.app import create_app


def profile(backend: str, exchanges: int) -> str:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    _run(backend, exchanges, profiler.enable, profiler.disable)
    elapsed = time.perf_counter() - started
    report = io.StringIO()
    report.write(f"{backend}: {exchanges} exchanges in {elapsed:.2f} s under cProfile "
                 f"({elapsed / exchanges * 1000:.2f} ms each, profiler overhead included)\n")
    stats = pstats.Stats(profiler, stream=report)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    return report.getvalue()


def cpu_per_exchange(backend: str, exchanges: int) -> str:
    spent: list[float] = []
    _run(backend, exchanges, lambda: spent.append(-time.process_time()),
         lambda: spent.append(time.process_time()))
    return (f"{backend}: {sum(spent) / exchanges * 1000:.2f} ms CPU per exchange in this process "
            f"({exchanges} exchanges after 300 of warm-up, one thread, no profiler)")


def _run(backend: str, exchanges: int, start: Callable[[], object],
         stop: Callable[[], object]) -> None:
    """The workload through the real app; ``start``/``stop`` bracket the measured part."""
    with (tempfile.TemporaryDirectory(prefix="ketenpoort-profile-") as scratch,
          bench_instance(backend, Path(scratch)) as settings):
        # No sequencer runs in this process: the sealing gate must not close mid-measurement.
        client = create_app(replace(settings, audit_max_lag_seconds=86_400)).test_client()
        warmup = Workload(partner_tokens(settings), 300, people=PEOPLE, seed=-1)
        workload = Workload(partner_tokens(settings), exchanges, people=PEOPLE, seed=-2)
        for index in range(len(warmup)):
            request = warmup(index)
            client.post(request.path, data=request.body, headers=request.headers)
        start()
        for index in range(exchanges):
            request = workload(index)
            response = client.post(request.path, data=request.body, headers=request.headers)
            assert response.status_code in (201, 403), response.get_data(as_text=True)
        stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--exchanges", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--cpu", action="store_true", help="CPU time per exchange, no profile")
    arguments = parser.parse_args()
    measure = cpu_per_exchange if arguments.cpu else profile
    report = measure(arguments.backend, arguments.exchanges)
    if arguments.out:
        arguments.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
