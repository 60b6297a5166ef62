"""The full ``POST /v1/exchanges`` path against the floor app, a worker's memory, and the broker.

    python -m bench.exchange_bench [--backends sqlite,postgresql] [--seconds 8] [--rounds 2]
                                   [--memory-exchanges 20000] [--json out.json]

Each backend gets a fresh instance made by the real set-up code (``ketenpoort init --demo``:
keyring, migrations, one client per demo partner); PostgreSQL runs in a dedicated database
(``ketenpoort_bench``) that is created and dropped here. Gateway and floor are both served by
gunicorn with 2 gthread workers and measured in alternating slices of the same run, so the
ratio survives a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bench.floor_app import create_floor_table
from bench.loadgen import LoadResult, run_load
from bench.servers import FLOOR_APP, GATEWAY_APP, Server, gunicorn
from bench.workload import Workload
from gateway import db
from gateway.auth.models import OAuthClient
from gateway.auth.services import TokenService
from gateway.container import build_container
from gateway.instance import create_demo_clients, initialise
from gateway.settings import Settings

CLIENTS = 8
PEOPLE = 50_000
WARMUP_REQUESTS = 800
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "ketenpoort_bench"


@contextmanager
def postgres_database(name: str = BENCH_DATABASE) -> Iterator[str]:
    admin = db.make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def bench_instance(backend: str, scratch: Path, database: str = BENCH_DATABASE
                   ) -> Iterator[Settings]:
    """A demo instance on ``backend``, set up by the code behind ``ketenpoort init --demo``."""
    with _database_url(backend, scratch, database) as url:
        # A snapshot of the policies: colleagues editing the tree must not trigger hot
        # reloads (and cold decision caches) in the middle of a measurement.
        policies = shutil.copytree(Settings().policies_path, scratch / backend / "policies")
        settings = Settings(instance_path=scratch / backend, database_url=url,
                            access_token_ttl_seconds=6 * 3600, policies_path=policies)
        create_demo_clients(initialise(settings), build_container(settings).clients)
        create_floor_table(url)
        yield settings


@contextmanager
def _database_url(backend: str, scratch: Path, database: str) -> Iterator[str]:
    if backend == "postgresql":
        with postgres_database(database) as url:
            yield url
    else:
        yield f"sqlite:///{scratch / backend / 'ketenpoort.sqlite3'}"


def partner_tokens(settings: Settings) -> dict[str, str]:
    """An access token per demo partner, issued by the gateway's own token service."""
    from gateway.keys import Keyring  # noqa: PLC0415 -- only needed once the instance exists

    tokens = TokenService(Keyring.load(settings.keyring_path), settings.issuer,
                          settings.audience, settings.access_token_ttl_seconds)
    session_factory = db.make_session_factory(db.make_engine(settings.database_url))
    with db.transaction(session_factory) as session:
        clients = session.scalars(select(OAuthClient)).all()
        return {c.partner_id: tokens.issue(c)["access_token"] for c in clients}


def server_environment(settings: Settings, **extra: str) -> dict[str, str]:
    return {"KETENPOORT_INSTANCE": str(settings.instance_path),
            "KETENPOORT_DATABASE_URL": settings.database_url,
            "KETENPOORT_ACCESS_TOKEN_TTL_SECONDS": str(settings.access_token_ttl_seconds),
            "KETENPOORT_POLICIES_PATH": str(settings.policies_path),
            **extra}


class Seeds:
    """A fresh seed per workload, so Idempotency-Keys never repeat within a run."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self) -> int:
        self._next += 1
        return self._next


def _load(server: Server, tokens: dict[str, str], seed: int, *, requests: int,
          seconds: float) -> LoadResult:
    workload = Workload(tokens, requests, people=PEOPLE, seed=seed)
    return run_load(server.port, workload, clients=CLIENTS, max_requests=requests,
                    max_seconds=seconds)


def compare_with_floor(settings: Settings, tokens: dict[str, str], seeds: Seeds, logs: Path, *,
                       seconds: float, rounds: int) -> dict[str, Any]:
    """Alternate gateway and floor slices; both servers stay up so neither pays a cold start."""
    backend = settings.database_url.split(":", 1)[0].split("+")[0]
    environment = server_environment(settings)
    totals = {"gateway": LoadResult(), "floor": LoadResult()}
    slices: dict[str, list[float]] = {"gateway": [], "floor": []}
    cap = int(seconds * 5000)
    with (gunicorn(GATEWAY_APP, environment, logs / f"gateway-{backend}.log") as gateway,
          gunicorn(FLOOR_APP, environment, logs / f"floor-{backend}.log") as floor):
        servers = {"gateway": gateway, "floor": floor}
        for server in servers.values():
            _load(server, tokens, seeds(), requests=WARMUP_REQUESTS, seconds=30)
        for _ in range(rounds):
            for name, server in servers.items():
                result = _load(server, tokens, seeds(), requests=cap, seconds=seconds)
                slices[name].append(round(result.count / result.elapsed_s, 1))
                totals[name].merge(result)
    summary = {name: {**total.summary(), "slice_throughputs_rps": slices[name]}
               for name, total in totals.items()}
    ratio = summary["gateway"]["throughput_rps"] / summary["floor"]["throughput_rps"]
    return {"backend": backend, "clients": CLIENTS, "ratio_gateway_floor": round(ratio, 3),
            **summary, "latencies_ms": {n: t.latencies_ms for n, t in totals.items()}}


def memory_run(settings: Settings, tokens: dict[str, str], seeds: Seeds, logs: Path, *,
               exchanges: int) -> dict[str, Any]:
    """Each worker's RSS while the gateway handles ``exchanges`` exchanges at 8 clients."""
    samples: list[dict[str, Any]] = []
    with gunicorn(GATEWAY_APP, server_environment(settings), logs / "gateway-memory.log"
                  ) as server:
        _load(server, tokens, seeds(), requests=WARMUP_REQUESTS, seconds=30)
        samples.append({"exchanges": 0, "rss_kib": server.worker_rss_kib()})
        step = max(exchanges // 40, 1)
        lock = threading.Lock()

        def sample(done: int) -> None:
            if done % step == 0:
                with lock:
                    samples.append({"exchanges": done, "rss_kib": server.worker_rss_kib()})

        workload = Workload(tokens, exchanges, people=PEOPLE, seed=seeds())
        result = run_load(server.port, workload, clients=CLIENTS, max_requests=exchanges,
                          max_seconds=3600, on_progress=sample)
        samples.append({"exchanges": result.count, "rss_kib": server.worker_rss_kib()})
    return {"exchanges": result.count, "statuses": result.summary()["statuses"],
            **memory_growth(samples), "samples": samples}


def memory_growth(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Growth of the mean worker RSS from the first quarter's level to the end, and its trend.

    The first quarter is the baseline: caches (policy decisions, pseudonym keys, SQLAlchemy's
    compiled statements) fill there by design; what must stay flat is what comes after.
    """
    points = [(s["exchanges"], sum(s["rss_kib"].values()) / len(s["rss_kib"])) for s in samples]
    quarter = next(p for p in points if p[0] >= points[-1][0] / 4)
    start, end = points[0][1], points[-1][1]
    second_half = [p for p in points if p[0] >= points[-1][0] / 2]
    slope = _slope(second_half)
    return {
        "mean_worker_rss_mib_start": round(start / 1024, 1),
        "mean_worker_rss_mib_quarter": round(quarter[1] / 1024, 1),
        "mean_worker_rss_mib_end": round(end / 1024, 1),
        "growth_pct_from_start": round((end - start) / start * 100, 2),
        "growth_pct_after_first_quarter": round((end - quarter[1]) / quarter[1] * 100, 2),
        "trend_kib_per_10k_exchanges_second_half": round(slope * 10_000, 1),
    }


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


class SilentBroker:
    """A TCP port that accepts connections and never answers: a broker that hangs.

    Worse than a closed port (refused at once): a publisher on the request thread would wait
    out its connect timeout on every request.
    """

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.connections = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(connection)

    def close(self) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


def broker_check(settings: Settings, tokens: dict[str, str], seeds: Seeds, logs: Path,
                 baseline: dict[str, Any]) -> dict[str, Any]:
    """Exchanges with Celery configured and a broker that hangs: no request may wait on it."""
    broker = SilentBroker()
    broker_url = f"amqp://guest:guest@127.0.0.1:{broker.port}//"
    # In celery mode the sequencer runs in Celery too, and there is none here: without a
    # generous lag limit the audit gate would (rightly) refuse exchanges after a minute, which
    # is not the question asked.
    environment = server_environment(settings, KETENPOORT_TASK_MODE="celery",
                                     KETENPOORT_BROKER_URL=broker_url,
                                     KETENPOORT_AUDIT_MAX_LAG_SECONDS="3600")
    try:
        with gunicorn(GATEWAY_APP, environment, logs / "gateway-silent-broker.log") as server:
            _load(server, tokens, seeds(), requests=16, seconds=15)
            result = _load(server, tokens, seeds(), requests=400, seconds=15)
    finally:
        broker.close()
    summary = result.summary()
    statuses: dict[str, int] = summary["statuses"]  # type: ignore[assignment]
    answered = sum(c for s, c in statuses.items() if s in {"201", "403"})
    p50: float = summary["p50_ms"]  # type: ignore[assignment]
    return {"broker_url": broker_url, "task_mode": "celery", **summary,
            "broker_connections": broker.connections, "baseline_p50_ms": baseline["p50_ms"],
            "request_path_waits_on_broker": (answered < result.count
                                             or p50 > 2 * baseline["p50_ms"] + 50)}


def run(backends: list[str], *, seconds: float, rounds: int, memory_exchanges: int,
        logs: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"comparisons": []}
    seeds = Seeds()
    with tempfile.TemporaryDirectory(prefix="ketenpoort-bench-") as scratch:
        for backend in backends:
            with bench_instance(backend, Path(scratch)) as settings:
                tokens = partner_tokens(settings)
                print(f"[exchange] {backend}: gateway vs floor, {rounds} x {seconds:.0f} s each",
                      flush=True)
                comparison = compare_with_floor(settings, tokens, seeds, logs,
                                                seconds=seconds, rounds=rounds)
                results["comparisons"].append(comparison)
                _print_comparison(comparison)
                if backend == backends[0]:
                    print("[exchange] silent broker check", flush=True)
                    broker = results["broker"] = broker_check(
                        settings, tokens, seeds, logs, comparison["gateway"])
                    print(f"  {broker['requests']} exchanges, p99 {broker['p99_ms']} ms, "
                          f"waits on the broker: {broker['request_path_waits_on_broker']}",
                          flush=True)
                    if memory_exchanges:
                        print(f"[memory] {memory_exchanges:,} exchanges on {backend}", flush=True)
                        results["memory"] = {"backend": backend, **memory_run(
                            settings, tokens, seeds, logs, exchanges=memory_exchanges)}
                        print(f"  growth after first quarter "
                              f"{results['memory']['growth_pct_after_first_quarter']} %",
                              flush=True)
    return results


def _print_comparison(comparison: dict[str, Any]) -> None:
    for name in ("gateway", "floor"):
        row = comparison[name]
        print(f"  {name:<8} {row['throughput_rps']:>8.1f} req/s  p50 {row['p50_ms']:>6.2f} ms  "
              f"p99 {row['p99_ms']:>6.2f} ms  {row['statuses']}", flush=True)
    print(f"  ratio gateway/floor {comparison['ratio_gateway_floor']:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory-exchanges", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()))
    arguments = parser.parse_args()
    results = run(arguments.backends.split(","), seconds=arguments.seconds,
                  rounds=arguments.rounds, memory_exchanges=arguments.memory_exchanges,
                  logs=arguments.logs)
    if arguments.json:
        arguments.json.write_text(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
