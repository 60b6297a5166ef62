"""The Markdown summary and the latency plot of a benchmark run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

THROUGHPUT_TARGET = 0.7
P99_TARGET_MS = 25.0
MEMORY_GROWTH_TARGET_PCT = 10.0


def summary_markdown(meta: dict[str, Any], exchange: dict[str, Any] | None,
                     modules: list[dict[str, Any]]) -> str:
    machine = meta["machine"]
    lines = [
        "# Benchmark summary",
        "",
        f"Run {meta['started']} to {meta['finished']} on {machine['cpu']} "
        f"({machine['cores']} cores), Python {machine['python']}; `{meta['command']}`.",
        "",
    ]
    if exchange is not None:
        lines += _exchange_table(exchange)
    for module in modules:
        lines += _module_section(module)
    return "\n".join(lines) + "\n"


def _exchange_table(exchange: dict[str, Any]) -> list[str]:
    lines = [
        "## Exchange vs floor (8 keep-alive clients, gunicorn 2 gthread workers x 4 threads)",
        "",
        "| backend | app | req/s | p50 ms | p90 ms | p99 ms | gateway/floor | targets "
        f"(>= {THROUGHPUT_TARGET}x, p99 <= {P99_TARGET_MS:.0f} ms) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for comparison in exchange["comparisons"]:
        ratio = comparison["ratio_gateway_floor"]
        for name in ("gateway", "floor"):
            row = comparison[name]
            verdict = ""
            if name == "gateway":
                verdict = (f"{_mark(ratio >= THROUGHPUT_TARGET)} throughput, "
                           f"{_mark(row['p99_ms'] <= P99_TARGET_MS)} p99")
            lines.append(
                f"| {comparison['backend']} | {name} | {row['throughput_rps']:.0f} | "
                f"{row['p50_ms']:.1f} | {row['p90_ms']:.1f} | {row['p99_ms']:.1f} | "
                f"{f'{ratio:.2f}' if name == 'gateway' else ''} | {verdict} |"
            )
    lines.append("")
    if "broker" in exchange:
        broker = exchange["broker"]
        lines += [
            "## No broker round trip on the request path",
            "",
            f"Task mode `celery`, broker `{broker['broker_url']}`: a port that accepts and never "
            f"answers ({broker['broker_connections']} connection attempts seen). "
            f"{broker['requests']} exchanges in {broker['elapsed_s']:.1f} s, "
            f"p50 {broker['p50_ms']:.1f} ms (same backend with the in-process drainer: "
            f"{broker['baseline_p50_ms']:.1f} ms), p99 {broker['p99_ms']:.1f} ms, statuses "
            f"{broker['statuses']}; request path waits on the broker: "
            f"**{'yes' if broker['request_path_waits_on_broker'] else 'no'}** "
            f"({_mark(not broker['request_path_waits_on_broker'])}).",
            "",
        ]
    if "memory" in exchange:
        memory = exchange["memory"]
        growth = memory["growth_pct_after_first_quarter"]
        lines += [
            "## Worker memory",
            "",
            f"{memory['exchanges']:,} exchanges on {memory['backend']}: mean worker RSS "
            f"{memory['mean_worker_rss_mib_start']} MiB after warm-up, "
            f"{memory['mean_worker_rss_mib_quarter']} MiB at a quarter, "
            f"{memory['mean_worker_rss_mib_end']} MiB at the end; growth after the first "
            f"quarter {growth} % ({_mark(growth < MEMORY_GROWTH_TARGET_PCT)} < "
            f"{MEMORY_GROWTH_TARGET_PCT:.0f} %), from warm-up {memory['growth_pct_from_start']} %;"
            f" trend over the second half "
            f"{memory['trend_kib_per_10k_exchanges_second_half']} KiB per 10,000 exchanges.",
            "",
        ]
    return lines


def _module_section(module: dict[str, Any]) -> list[str]:
    title = f"## {module['name'].capitalize()}"
    if "skipped" in module:
        return [title, "", f"Skipped: {module['skipped']}.", ""]
    status = "" if module["returncode"] == 0 else f" (failed, exit {module['returncode']})"
    return [title, "", f"`{' '.join(module['command'])}`{status}, {module['seconds']} s:", "",
            "```", *module["output"], *([module["error"]] if module["error"] else []), "```", ""]


def _mark(met: bool) -> str:
    return "met" if met else "NOT met"


def plot(exchange: dict[str, Any], path: Path) -> None:
    """Latency distributions (CDF, log scale) of gateway and floor per backend, and RSS."""
    import matplotlib  # noqa: PLC0415 -- an optional dependency, only needed here

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    panels = len(exchange["comparisons"]) + ("memory" in exchange)
    figure, axes = pyplot.subplots(1, panels, figsize=(6 * panels, 4.5), squeeze=False)
    for axis, comparison in zip(axes[0], exchange["comparisons"], strict=False):
        for name, latencies in comparison["latencies_ms"].items():
            ordered = sorted(latencies)
            fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
            summary = comparison[name]
            axis.plot(ordered, fractions, label=f"{name}: {summary['throughput_rps']:.0f} req/s, "
                      f"p99 {summary['p99_ms']:.1f} ms")
        axis.axvline(P99_TARGET_MS, color="grey", linestyle=":", label="p99 target")
        axis.axhline(0.99, color="grey", linestyle="--", linewidth=0.5)
        axis.set_xscale("log")
        axis.set_xlabel("latency (ms, log)")
        axis.set_ylabel("fraction of requests")
        axis.set_title(f"POST /v1/exchanges, {comparison['backend']}, 8 clients")
        axis.legend(loc="lower right", fontsize="small")
    if "memory" in exchange:
        axis = axes[0][-1]
        samples = exchange["memory"]["samples"]
        pids = sorted({pid for sample in samples for pid in sample["rss_kib"]})
        for pid in pids:
            points = [(s["exchanges"], s["rss_kib"][pid] / 1024) for s in samples
                      if pid in s["rss_kib"]]
            axis.plot(*zip(*points, strict=True), marker=".", label=f"worker {pid}")
        axis.set_xlabel("exchanges (both workers)")
        axis.set_ylabel("RSS (MiB)")
        axis.set_title("gateway worker memory")
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
