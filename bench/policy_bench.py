"""Policy decision cost: the raw regopy bundle query beside the gateway's decision, per decision.

    python bench/policy_bench.py [--requests 48] [--rounds 7] [--out bench/results/policy.json]

Variants, all over the same requests (a deterministic sample of the demo decision matrix, a mix
of allowed and denied):

* ``raw_regopy``: ``Interpreter.set_input(Input(dict))`` + ``query_bundle_entrypoint`` on a
  compiled bundle, input dicts prepared beforehand: the engine alone;
* ``gateway_uncached``: :class:`PolicyService` with the cache off (input conversion, engine,
  result checks, :class:`Decision`);
* ``gateway_uncached_reloading``: the same behind :class:`ReloadingPolicyService`, as the
  container builds it (adds the reload interval check);
* ``gateway_cached``: :class:`PolicyService` with its LRU cache warm;
* ``gateway_without_engine``: the uncached service over an engine that replays the recorded
  engine results, i.e. the gateway's own cost per uncached decision, engine excluded.

Variants run interleaved, round after round, and each reports the median and best round, in
microseconds per decision, so a noisy neighbour hits all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import regopy

from gateway.clock import SYSTEM_CLOCK
from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import ENTRYPOINT, DecisionRequest
from gateway.policy.regopy_engine import RegopyEngine
from gateway.policy.reload import ReloadingPolicyService
from gateway.policy.services import PolicyService
from tests.policy.conftest import POLICIES_PATH, matrix_requests

RESULTS = Path(__file__).resolve().parent / "results" / "policy.json"
CACHED_PASSES = 200


def sample(bundle: PolicyBundle, count: int) -> list[DecisionRequest]:
    requests = matrix_requests(bundle)
    step = max(1, len(requests) // count)
    return requests[::step][:count]


def raw_regopy(bundle: PolicyBundle, requests: list[DecisionRequest]) -> Callable[[], int]:
    builder = regopy.Interpreter()
    builder.add_data(bundle.data)
    for name, source in bundle.modules.items():
        builder.add_module(name, source)
    compiled = builder.build(None, [ENTRYPOINT])
    interpreter = regopy.Interpreter()
    inputs = [request.as_input() for request in requests]

    def run() -> int:
        for document in inputs:
            interpreter.set_input(regopy.Input(document))
            output = interpreter.query_bundle_entrypoint(compiled, ENTRYPOINT)
            if not output.results[0].expressions:
                raise RuntimeError("the entrypoint gave no decision")
        return len(inputs)

    return run


class ReplayEngine:
    """Answers with recorded results, in request order, so only the service's work is timed."""

    def __init__(self, bundle_hash: str, results: list[Any]) -> None:
        self._bundle_hash = bundle_hash
        self._results = results
        self._next = 0

    @property
    def bundle_hash(self) -> str:
        return self._bundle_hash

    def evaluate(self, input: dict[str, Any], entrypoint: str = ENTRYPOINT) -> Any:
        result = self._results[self._next % len(self._results)]
        self._next += 1
        return result


def deciding(service: Any, requests: list[DecisionRequest], passes: int = 1) -> Callable[[], int]:
    def run() -> int:
        for _ in range(passes):
            for request in requests:
                service.decide(request)
        return passes * len(requests)

    return run


def measure(variants: dict[str, Callable[[], int]], rounds: int) -> dict[str, list[float]]:
    per_decision: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():
        run()  # warm: per-thread interpreters, caches
    for _ in range(rounds):
        for name, run in variants.items():
            started = time.perf_counter()
            decisions = run()
            per_decision[name].append((time.perf_counter() - started) / decisions * 1e6)
    return per_decision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args()

    bundle = PolicyBundle.load(POLICIES_PATH)
    requests = sample(bundle, arguments.requests)
    engine = RegopyEngine(bundle)
    replay = ReplayEngine(bundle.hash, [engine.evaluate(r.as_input()) for r in requests])
    reloading = ReloadingPolicyService(POLICIES_PATH, RegopyEngine, 5.0, cache_size=0,
                                       now=SYSTEM_CLOCK.now)
    variants = {
        "raw_regopy": raw_regopy(bundle, requests),
        "gateway_uncached": deciding(PolicyService(engine, cache_size=0), requests),
        "gateway_uncached_reloading": deciding(reloading, requests),
        "gateway_cached": deciding(PolicyService(engine), requests, CACHED_PASSES),
        "gateway_without_engine": deciding(PolicyService(replay, cache_size=0), requests),
    }
    per_decision = measure(variants, arguments.rounds)
    summary = {
        name: {"median_us": round(statistics.median(values), 2), "best_us": round(min(values), 2)}
        for name, values in per_decision.items()
    }
    report = {
        "machine": {
            "platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "regopy": getattr(regopy, "__version__", "unknown"),
        "bundle_hash": bundle.hash,
        "requests": len(requests),
        "allowed_share": round(
            sum(PolicyService(engine).decide(r).allowed for r in requests) / len(requests), 2
        ),
        "rounds": arguments.rounds,
        "per_decision": summary,
        # Best rounds: the least disturbed by other load, so their difference means something.
        "uncached_minus_raw_best_us": round(
            summary["gateway_uncached"]["best_us"] - summary["raw_regopy"]["best_us"], 2
        ),
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, numbers in summary.items():
        median, best = numbers["median_us"], numbers["best_us"]
        print(f"{name:<28} {median:>10,.2f} µs/decision (best {best:,.2f})")
    print(f"uncached gateway minus raw regopy (best rounds): "
          f"{report['uncached_minus_raw_best_us']:,.2f} µs; written to {arguments.out}")


if __name__ == "__main__":
    main()
