"""Profile the exchange path in one process: where does a ``POST /v1/exchanges`` spend its time?

    python -m bench.profile_exchange [--backend sqlite] [--exchanges 2000] [--out profile.txt]

Runs the real app (Flask test client, no network) on a fresh demo instance with the benchmark
workload under cProfile and prints the functions with the most cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

from bench.exchange_bench import PEOPLE, bench_instance, partner_tokens
from bench.workload import Workload
from gateway.app import create_app


def profile(backend: str, exchanges: int) -> str:
    with (tempfile.TemporaryDirectory(prefix="ketenpoort-profile-") as scratch,
          bench_instance(backend, Path(scratch)) as settings):
        app = create_app(settings)
        client = app.test_client()
        warmup = Workload(partner_tokens(settings), 200, people=PEOPLE, seed=-1)
        workload = Workload(partner_tokens(settings), exchanges, people=PEOPLE, seed=-2)
        for index in range(len(warmup)):
            request = warmup(index)
            client.post(request.path, data=request.body, headers=request.headers)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for index in range(exchanges):
            request = workload(index)
            response = client.post(request.path, data=request.body, headers=request.headers)
            assert response.status_code in (201, 403), response.get_data(as_text=True)
        profiler.disable()
        elapsed = time.perf_counter() - started
    report = io.StringIO()
    report.write(f"{backend}: {exchanges} exchanges in {elapsed:.2f} s under cProfile "
                 f"({elapsed / exchanges * 1000:.2f} ms each, profiler overhead included)\n")
    stats = pstats.Stats(profiler, stream=report)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    return report.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--exchanges", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args()
    report = profile(arguments.backend, arguments.exchanges)
    if arguments.out:
        arguments.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
