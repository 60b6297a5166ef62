"""The exchange path as the database grows, and with a second gateway process group beside it.

    python -m bench.scale_bench [--real 2000] [--small 10000] [--large 1000000]
                                [--seconds 8] [--rounds 2] [--part growth|scale-out|both]
                                [--json out.json]

**Growth** (PostgreSQL): two demo instances, each fed ``--real`` exchanges through the real HTTP
path, then copied in SQL until they hold ``--small`` and ``--large`` exchanges (with their
persons, linkage index, deliveries, outbox and inbox rows and audit entries, all integrated into
the Merkle tree by the real sequencer, whose rate is reported). Copies get new identifiers
(references kept) and new linkage block keys, so the indexes grow while each block stays the
size real data made it; a block's growth with the population is what ``linkage_bench``'s
candidate search with 100,000 indexed measures. Both gateways then serve in alternating slices,
so the ratio survives a noisy machine.

**Scale-out** (PostgreSQL): one instance, two ``ketenpoort serve``-like process groups (2 workers
each, background work in every worker) on two ports; alternating slices send the 8 clients to
one group, then spread them over both.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from bench.exchange_bench import (
    CLIENTS,
    PEOPLE,
    WARMUP_REQUESTS,
    Seeds,
    bench_instance,
    partner_tokens,
    server_environment,
)
from bench.loadgen import LoadResult, run_load
from bench.servers import GATEWAY_APP, gunicorn
from bench.workload import Workload
from gateway import db
from gateway.container import build_container
from gateway.settings import Settings

# A copy's new value of an identifying column: the same function of the same old value, so a
# reference (deliveries.exchange_id, linkage_blocks.subject_id, ...) follows its row.
AS_UUID = "md5({column} || ':' || copy)::uuid::text"
AS_HEX64 = "md5({column} || ':' || copy) || md5({column} || '#' || copy)"
AS_HEX32 = "md5({column} || ':' || copy)"
WITH_SUFFIX = "{column} || ':' || copy"
NOT_SEQUENCED = "NULL"
# Copies are history: a message still pending at copy time must not become hundreds of
# thousands of deliveries for the drainer during the measurement.
SETTLED = "'delivered'"
#: Tables copied, in an order that inserts a row after the rows it refers to; columns not
#: named are copied as they are (serial columns are left to their sequence).
COPIED: dict[str, dict[str, str]] = {
    "identity_subject": {"id": AS_UUID, "blind_index": AS_HEX64},
    "linkage_records": {"subject_id": AS_UUID},
    "linkage_blocks": {"block_key": AS_HEX32, "subject_id": AS_UUID},
    "linkage_covenants": {"subject_id": AS_UUID},
    "exchanges": {"id": AS_UUID, "idempotency_key": WITH_SUFFIX, "audit_event_id": AS_UUID},
    "deliveries": {"id": AS_UUID, "exchange_id": AS_UUID},
    "outbox_messages": {"id": AS_UUID, "idempotency_key": WITH_SUFFIX, "state": SETTLED},
    "outbox_dispatches": {"id": AS_UUID, "message_id": AS_UUID, "state": SETTLED},
    "inbox_messages": {"id": AS_UUID},
    "audit_entries": {"event_id": AS_UUID, "tree_index": NOT_SEQUENCED},
}


def feed(settings: Settings, tokens: dict[str, str], seeds: Seeds, exchanges: int,
         logs: Path) -> None:
    """``exchanges`` real exchanges through one gateway."""
    with gunicorn(GATEWAY_APP, server_environment(settings), logs / "feed.log") as server:
        workload = Workload(tokens, exchanges, people=PEOPLE, seed=seeds())
        result = run_load(server.port, workload, clients=CLIENTS, max_requests=exchanges,
                          max_seconds=3600)
    if set(result.statuses) - {201, 403}:
        raise RuntimeError(f"feeding the instance failed: {result.statuses}")


def grow(settings: Settings, copies: int) -> dict[str, Any]:
    """Copy every row of :data:`COPIED` ``copies`` times, then let the sequencer integrate
    the copied audit entries; return the row counts and the sequencer's rate."""
    engine = db.make_engine(settings.database_url)
    started = time.perf_counter()
    with engine.begin() as connection:
        for table, rewrites in COPIED.items():
            connection.execute(text(_copy_statement(connection, table, rewrites, copies)))
    copied_s = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        counts = {table: connection.execute(text(
            f'SELECT count(*) FROM "{table}"')).scalar_one()  # noqa: S608 -- a name of COPIED
                  for table in COPIED}
    engine.dispose()
    sequencer = build_container(settings).sequencer_once()
    started = time.perf_counter()
    integrated = 0
    while batch := sequencer.run_once():
        integrated += batch
    sequenced_s = time.perf_counter() - started
    return {"copies": copies, "rows": counts, "copy_seconds": round(copied_s, 1),
            "sequenced_entries": integrated, "sequencer_seconds": round(sequenced_s, 1),
            "sequencer_entries_per_s": round(integrated / max(sequenced_s, 1e-9))}


def _copy_statement(connection: Connection, table: str, rewrites: dict[str, str],
                    copies: int) -> str:
    columns = [row.column_name for row in connection.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :table "
        "AND coalesce(column_default, '') NOT LIKE 'nextval(%' AND is_identity = 'NO' "
        "ORDER BY ordinal_position"), {"table": table})]
    values = [rewrites.get(c, "{column}").format(column=f't."{c}"') for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    return (f'INSERT INTO "{table}" ({names}) SELECT {", ".join(values)} '  # noqa: S608 -- names from information_schema, no input
            f'FROM "{table}" AS t CROSS JOIN generate_series(1, {int(copies)}) AS copy')


def alternate(slices: dict[str, tuple[Sequence[int], dict[str, str]]], seeds: Seeds, *,
              seconds: float, rounds: int) -> dict[str, Any]:
    """Each named target (its ports and tokens) in turn, ``rounds`` times, after a warm-up."""
    totals = {name: LoadResult() for name in slices}
    for ports, tokens in slices.values():
        run_load(ports, Workload(tokens, WARMUP_REQUESTS, people=PEOPLE, seed=seeds()),
                 clients=CLIENTS, max_requests=WARMUP_REQUESTS, max_seconds=30)
    cap = int(seconds * 5000)
    for _ in range(rounds):
        for name, (ports, tokens) in slices.items():
            totals[name].merge(run_load(ports, Workload(tokens, cap, people=PEOPLE,
                                                        seed=seeds()),
                                        clients=CLIENTS, max_requests=cap, max_seconds=seconds))
    return {name: total.summary() for name, total in totals.items()}


def growth(scratch: Path, logs: Path, seeds: Seeds, *, real: int, sizes: tuple[int, int],
           seconds: float, rounds: int) -> dict[str, Any]:
    result: dict[str, Any] = {"real_exchanges": real}
    with (bench_instance("postgresql", scratch / "small", "ketenpoort_bench_small") as small,
          bench_instance("postgresql", scratch / "large", "ketenpoort_bench_large") as large):
        instances = {f"{sizes[0]:,} stored": small, f"{sizes[1]:,} stored": large}
        tokens = {name: partner_tokens(settings) for name, settings in instances.items()}
        for (name, settings), size in zip(instances.items(), sizes, strict=True):
            print(f"[growth] {name}: {real:,} real exchanges, then copies", flush=True)
            feed(settings, tokens[name], seeds, real, logs)
            result[name] = grow(settings, max(size // real - 1, 0))
            print(f"  {json.dumps(result[name])}", flush=True)
        with (gunicorn(GATEWAY_APP, server_environment(small), logs / "small.log") as one,
              gunicorn(GATEWAY_APP, server_environment(large), logs / "large.log") as two):
            ports = dict(zip(instances, ([one.port], [two.port]), strict=True))
            result["load"] = alternate({n: (ports[n], tokens[n]) for n in instances}, seeds,
                                       seconds=seconds, rounds=rounds)
    return result


def scale_out(scratch: Path, logs: Path, seeds: Seeds, *, seconds: float, rounds: int
              ) -> dict[str, Any]:
    with bench_instance("postgresql", scratch / "scale") as settings:
        tokens = partner_tokens(settings)
        environment = server_environment(settings)
        with (gunicorn(GATEWAY_APP, environment, logs / "group-a.log") as first,
              gunicorn(GATEWAY_APP, environment, logs / "group-b.log") as second):
            return alternate({"one group": ([first.port], tokens),
                              "two groups": ([first.port, second.port], tokens)},
                             seeds, seconds=seconds, rounds=rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=int, default=2000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--part", choices=("growth", "scale-out", "both"), default="both")
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    seeds = Seeds()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ketenpoort-scale-") as directory:
        scratch, logs = Path(directory), Path(directory) / "logs"
        logs.mkdir()
        if arguments.part in ("growth", "both"):
            results["growth"] = growth(scratch, logs, seeds, real=arguments.real,
                                       sizes=(arguments.small, arguments.large),
                                       seconds=arguments.seconds, rounds=arguments.rounds)
            _print_load(results["growth"]["load"])
        if arguments.part in ("scale-out", "both"):
            print("[scale-out] one process group vs two, one PostgreSQL", flush=True)
            results["scale_out"] = scale_out(scratch, logs, seeds, seconds=arguments.seconds,
                                             rounds=arguments.rounds)
            _print_load(results["scale_out"])
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")


def _print_load(load: dict[str, Any]) -> None:
    for name, row in load.items():
        print(f"  {name:<18} {row['throughput_rps']:>8.1f} req/s  p50 {row['p50_ms']:>6.2f} ms"
              f"  p99 {row['p99_ms']:>6.2f} ms  {row['statuses']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
