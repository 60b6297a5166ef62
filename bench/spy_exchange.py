"""Sample a live gateway worker with py-spy while 8 clients send exchanges; summarise the stacks.

    python -m bench.spy_exchange [--backend sqlite] [--seconds 8] [--out spy.txt]

Unlike ``bench.profile_exchange`` (cProfile, one thread, no server) this sees what a gunicorn
worker really does under load, waiting included (``--idle``): lock queues, database round
trips, the GIL. Needs py-spy (the ``bench`` extra) and permission to ptrace the worker.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import tempfile
from pathlib import Path

from bench.exchange_bench import Seeds, _load, bench_instance, partner_tokens, server_environment
from bench.servers import GATEWAY_APP, gunicorn

OWN_CODE = ("gateway/", "audit/", "/work/")


def record(backend: str, seconds: int, raw: Path) -> dict[str, object]:
    with (tempfile.TemporaryDirectory(prefix="ketenpoort-spy-") as scratch,
          bench_instance(backend, Path(scratch)) as settings):
        tokens, seeds = partner_tokens(settings), Seeds()
        with gunicorn(GATEWAY_APP, server_environment(settings), Path(scratch) / "gw.log"
                      ) as server:
            _load(server, tokens, seeds(), requests=800, seconds=60)
            spy = subprocess.Popen(["py-spy", "record", "--pid", str(server.worker_pids()[0]),  # noqa: S603, S607 -- py-spy from the bench extra, on PATH
                                    "--duration", str(seconds), "--rate", "200", "--format",
                                    "raw", "--output", str(raw), "--nonblocking", "--idle"])
            result = _load(server, tokens, seeds(), requests=1_000_000, seconds=seconds + 1)
            spy.wait()
    return result.summary()


def summarise(raw: Path, top: int = 25) -> str:
    """Request-thread samples grouped by the innermost two frames of our own code."""
    total = 0
    places: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "handle_request" not in stack:
            continue
        total += int(count)
        frames = [f.split(" (")[0] for f in stack.split(";") if any(o in f for o in OWN_CODE)]
        innermost = stack.split(";")[-1].split(" (")[0]
        places[" > ".join(frames[-2:]) + f" | {innermost}"] += int(count)
    lines = [f"{total} request-thread samples"]
    lines += [f"{n:6d} {n / total:6.1%}  {place}" for place, n in places.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "spy.txt")
    arguments = parser.parse_args()
    print(record(arguments.backend, arguments.seconds, arguments.out))
    print(summarise(arguments.out))


if __name__ == "__main__":
    main()
