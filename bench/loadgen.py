"""A closed-loop HTTP load generator: N keep-alive clients on threads, bounded in count and time.

Each client sends its next prepared request as soon as the previous answer is in, so the
measured throughput is what the server sustains at that concurrency, and every latency is
one full request/response on an open connection.
"""

from __future__ import annotations

import http.client
import itertools
import math
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PreparedRequest:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    def merge(self, other: LoadResult) -> None:
        self.latencies_ms.extend(other.latencies_ms)
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.elapsed_s += other.elapsed_s

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        ordered = sorted(self.latencies_ms)
        return {
            "requests": self.count,
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(self.count / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "p50_ms": round(percentile(ordered, 50), 2),
            "p90_ms": round(percentile(ordered, 90), 2),
            "p99_ms": round(percentile(ordered, 99), 2),
            "max_ms": round(ordered[-1], 2) if ordered else 0.0,
            "mean_ms": round(statistics.fmean(ordered), 2) if ordered else 0.0,
            "statuses": {str(s): c for s, c in sorted(self.statuses.items())},
        }


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def run_load(
    port: int | Sequence[int],
    requests: Callable[[int], PreparedRequest],
    *,
    clients: int,
    max_requests: int,
    max_seconds: float,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Send up to ``max_requests`` (taken as ``requests(i)``) for at most ``max_seconds``;
    with several ports, the clients are spread over them in turn."""
    ports = [port] if isinstance(port, int) else list(port)
    counter = itertools.count()
    deadline = time.perf_counter() + max_seconds
    results = [LoadResult() for _ in range(clients)]
    done = itertools.count(1)

    def client(result: LoadResult, port: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            index = next(counter)
            if index >= max_requests:
                break
            prepared = requests(index)
            started = time.perf_counter()
            connection.request("POST", prepared.path, prepared.body, prepared.headers)
            response = connection.getresponse()
            response.read()
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.statuses[response.status] = result.statuses.get(response.status, 0) + 1
            if on_progress is not None:
                on_progress(next(done))
        connection.close()

    threads = [threading.Thread(target=client, args=(r, ports[i % len(ports)]))
               for i, r in enumerate(results)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = LoadResult()
    for result in results:
        total.merge(result)
    total.elapsed_s = time.perf_counter() - started
    return total
