"""Every benchmark in one run: JSON results, a Markdown summary and a latency plot.

    python3 -m bench [--full] [--skip NAME ...] [--memory-exchanges N] [--seconds S]

Writes ``bench/results/*.json``, ``bench/results/summary.md`` and
``bench/results/latency.png``. The default sizes finish in a few minutes on two cores;
``--full`` uses the sizes the performance issue names (1,000,000 audit entries verified offline,
100,000 exchanges for the memory run) and takes correspondingly longer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import exchange_bench, report
from bench.servers import ROOT
from gateway.clock import SYSTEM_CLOCK

RESULTS = ROOT / "bench" / "results"


#: The sizes each benchmark script runs at: ``quick`` (the default run), ``full`` (``--full``,
#: the issue's sizes: the scripts' own defaults) and ``smoke`` (the test suite runs every script
#: at it, so a script that no longer runs against the gateway's code fails a test, not a run).
SIZES: dict[str, dict[str, list[str]]] = {
    "quick": {"audit": ["--entries", "200000", "--sequenced", "10000"],
              "identity": ["--pseudonyms", "50000", "--subjects", "2000"],
              "linkage": ["--people", "5000"]},
    "full": {},
    "smoke": {"policy": ["--requests", "4", "--rounds", "1"],
              "audit": ["--entries", "2000", "--sequenced", "300"],
              "identity": ["--pseudonyms", "2000", "--subjects", "50"],
              "agenda": ["--items", "6", "--participants", "3", "--rounds", "1"],
              "linkage": ["--dataset", "synthetic", "--people", "300", "--indexed", "2000"]},
}


def module_commands(size: str, database_url: str, results: Path) -> dict[str, list[str]]:
    """The colleagues' benchmark scripts with the arguments of ``size``."""
    commands = {
        "policy": ["bench/policy_bench.py", "--out", str(results / "policy.json")],
        "audit": ["bench/audit_bench.py", "--database-url", database_url],
        "identity": ["bench/identity_bench.py"],
        "agenda": ["bench/agenda_bench.py"],
        "linkage": ["bench/linkage_bench.py"],
    }
    return {name: [*command, *SIZES[size].get(name, [])] for name, command in commands.items()}


def run_module(name: str, command: list[str]) -> dict[str, Any]:
    script = ROOT / command[0]
    if not script.exists():
        print(f"[{name}] skipped: {command[0]} does not exist (yet)", flush=True)
        return {"name": name, "skipped": f"{command[0]} does not exist"}
    print(f"[{name}] python3 {' '.join(command)}", flush=True)
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True,  # noqa: S603 -- our own scripts
                              text=True, check=False)
    elapsed = time.perf_counter() - started
    output = finished.stdout.strip().splitlines()
    for line in output:
        print(f"  {line}", flush=True)
    if finished.returncode != 0:
        print(f"  failed ({finished.returncode}): {finished.stderr.strip()[-600:]}", flush=True)
    return {"name": name, "command": ["python3", *command], "returncode": finished.returncode,
            "seconds": round(elapsed, 1), "output": output,
            "error": finished.stderr.strip()[-2000:] if finished.returncode else None}


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "platform": platform.platform()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[],
                        help="exchange, memory, or a module: policy audit identity agenda linkage")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="length of each gateway/floor measuring slice")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory-exchanges", type=int)
    parser.add_argument("--backends", default="sqlite,postgresql")
    arguments = parser.parse_args()
    memory_exchanges = arguments.memory_exchanges or (100_000 if arguments.full else 20_000)
    if "memory" in arguments.skip:
        memory_exchanges = 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = SYSTEM_CLOCK.now()
    meta = {"started": started.isoformat(timespec="seconds"), "machine": machine(),
            "full": arguments.full, "command": " ".join(["python3 -m bench", *sys.argv[1:]])}
    exchange: dict[str, Any] | None = None
    logs = Path(tempfile.mkdtemp(prefix="ketenpoort-bench-logs-"))
    print(f"server logs: {logs}", flush=True)
    if "exchange" not in arguments.skip:
        exchange = exchange_bench.run(arguments.backends.split(","), seconds=arguments.seconds,
                                      rounds=arguments.rounds, memory_exchanges=memory_exchanges,
                                      logs=logs)
        _write("exchange.json", {**meta, "comparisons": [
            {k: v for k, v in c.items() if k != "latencies_ms"} for c in exchange["comparisons"]
        ]})
        for part in ("memory", "broker"):
            if part in exchange:
                _write(f"{part}.json", {**meta, **exchange[part]})
    modules = []
    with exchange_bench.postgres_database() as postgres_url:
        commands = module_commands("full" if arguments.full else "quick", postgres_url, RESULTS)
        for name, command in commands.items():
            if name not in arguments.skip:
                modules.append(run_module(name, command))
    _write("modules.json", {**meta, "modules": modules})
    meta["finished"] = SYSTEM_CLOCK.now().isoformat(timespec="seconds")
    summary = report.summary_markdown(meta, exchange, modules)
    (RESULTS / "summary.md").write_text(summary)
    if exchange is not None:
        report.plot(exchange, RESULTS / "latency.png")
    print(summary)
    failed = [module["name"] for module in modules if module.get("returncode")]
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


def _write(name: str, content: dict[str, Any]) -> None:
    (RESULTS / name).write_text(json.dumps(content, indent=2) + "\n")


if __name__ == "__main__":
    main()
