"""Prometheus metrics: request counts and latencies per route template, exchange outcomes, and
the operational state read from the database at each scrape.

Counters live in the process that counts them. Under gunicorn with several workers set
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's own variable, before the process starts) to an
empty folder: every worker then writes its counts there and a scrape of any worker reports the
sum. Without it each worker reports only its own requests. The database-backed gauges are the
same from every worker either way.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway.observability.services import OperationalState, StateUnreadable

#: Route label of a request that matched no route: the path itself is never a label.
UNMATCHED_ROUTE = "unmatched"
#: Covenant label of an exchange that names no covenant of the bundle (a rejected request).
NO_COVENANT = "none"
EXCHANGE_OUTCOMES = {201: "accepted", 200: "accepted", 403: "refused", 503: "unavailable"}
REIDENTIFICATION_STATES = frozenset({"released", "pending", "refused"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    """What the HTTP shell counts, and the text a scrape of ``/metrics`` receives."""

    def __init__(self, state: OperationalState, multiprocess_dir: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._multiprocess_dir = multiprocess_dir
        self._state = state
        self._requests = Counter(
            "ketenpoort_http_requests", "HTTP requests answered, per route template and status",
            ["method", "route", "status"], registry=self.registry)
        self._latency = Histogram(
            "ketenpoort_http_request_duration_seconds",
            "Time to answer an HTTP request, per route template",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._exchanges = Counter(
            "ketenpoort_exchanges",
            "Exchange requests by outcome: accepted (201), refused (403), rejected (other 4xx), "
            "unavailable (503)", ["covenant", "outcome"], registry=self.registry)
        self._decisions = Counter(
            "ketenpoort_exchange_decisions",
            "Per-recipient policy decisions of exchanges, allowed or refused",
            ["covenant", "decision"], registry=self.registry)
        self._reidentifications = Counter(
            "ketenpoort_reidentifications",
            "Re-identification requests and approvals by the state they left: released, "
            "pending (a second person must approve), refused; rejected or unavailable",
            ["state"], registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route).observe(seconds)

    def observe_exchange(self, status: int, covenant: str | None,
                         allowed: Iterable[bool]) -> None:
        """One exchange request; ``covenant`` only when the bundle has it (labels stay few)."""
        covenant = covenant or NO_COVENANT
        self._exchanges.labels(covenant, _outcome(status, EXCHANGE_OUTCOMES)).inc()
        for decision in allowed:
            self._decisions.labels(covenant, "allowed" if decision else "refused").inc()

    def observe_reidentification(self, status: int, state: object) -> None:
        if state not in REIDENTIFICATION_STATES:
            state = _outcome(status, {503: "unavailable"})
        self._reidentifications.labels(state).inc()

    def exposition(self) -> bytes:
        """The Prometheus text format: this process's (or all workers') counters, then the
        operational state."""
        counted = self.registry
        if self._multiprocess_dir:
            counted = CollectorRegistry()
            MultiProcessCollector(counted, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        state = CollectorRegistry()
        state.register(StateCollector(self._state))
        return generate_latest(counted) + generate_latest(state)


class StateCollector(Collector):
    """The operational state as gauges; ``ketenpoort_state_up`` 0 when it cannot be read."""

    def __init__(self, state: OperationalState) -> None:
        self._state = state

    def collect(self) -> Iterable[Metric]:
        try:
            snapshot = self._state.snapshot()
        except StateUnreadable:
            yield _gauge("ketenpoort_state_up", "1 when the database could be read", 0)
            return
        yield _gauge("ketenpoort_state_up", "1 when the database could be read", 1)
        yield _gauge("ketenpoort_outbox_pending", "Outbox messages not yet delivered",
                     snapshot.outbox_pending)
        yield _gauge("ketenpoort_outbox_dead_letters",
                     "Outbox messages given up on (revive with 'ketenpoort outbox retry')",
                     snapshot.outbox_dead_letters)
        yield _gauge("ketenpoort_outbox_oldest_pending_age_seconds",
                     "Age of the oldest undelivered outbox message (0 when none)",
                     snapshot.outbox_oldest_pending_age_seconds)
        yield _gauge("ketenpoort_audit_sequencer_lag_seconds",
                     "Age of the oldest audit entry not yet sealed by a signed checkpoint",
                     snapshot.audit_sequencer_lag_seconds)
        yield _gauge("ketenpoort_audit_signed_tree_size",
                     "Entries covered by the newest signed checkpoint",
                     snapshot.audit_signed_tree_size)
        if snapshot.audit_checkpoint_age_seconds is not None:
            yield _gauge("ketenpoort_audit_checkpoint_age_seconds",
                         "Age of the newest signed checkpoint",
                         snapshot.audit_checkpoint_age_seconds)


def _outcome(status: int, known: dict[int, str]) -> str:
    return known.get(status, "rejected" if 400 <= status < 500 else "failed")


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
