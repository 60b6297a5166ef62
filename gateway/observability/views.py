"""The HTTP shell of observability: a trace context and an access line for every request,
request metrics, and ``GET /metrics`` for the operator's Prometheus only.

``/metrics`` opens with the bearer token in ``KETENPOORT_METRICS_TOKEN`` (or ``_FILE``), which is
no partner's: partner access tokens do not open it. Without the setting it is not served (404).
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.container import current_container
from gateway.logs import (
    REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
    TraceContext,
    bind_trace,
    unbind_trace,
)
from gateway.observability.metrics import UNMATCHED_ROUTE
from gateway.problems import Problem, unauthorized

blueprint = Blueprint("metrics", __name__)
access_log = logging.getLogger("gateway.access")
EXCHANGES_ROUTE = "/v1/exchanges"
REIDENTIFICATION_ROUTES = ("/v1/reidentifications",
                           "/v1/reidentifications/<reidentification_id>/approve")


@blueprint.get("/metrics")
def metrics() -> Response:
    container = current_container()
    expected = container.settings.metrics_token
    if not expected:
        raise Problem(404, "not-found", "Not Found", "metrics are not served by this gateway")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected.encode()):
        raise unauthorized("send the metrics token: 'Authorization: Bearer <token>'")
    return Response(container.metrics.exposition(), mimetype=CONTENT_TYPE_LATEST)


def install_request_observation(app: Flask) -> None:
    """Trace context in, trace context out, one access line and the request metrics."""

    @app.before_request
    def _start() -> None:
        trace = TraceContext.from_headers(request.headers.get(REQUEST_ID_HEADER),
                                          request.headers.get(TRACEPARENT_HEADER))
        g.trace_token = bind_trace(trace)
        g.trace = trace
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        trace: TraceContext | None = g.get("trace")
        if trace is None:  # a failure before the first hook ran
            return response
        seconds = time.perf_counter() - g.started
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
        response.headers[REQUEST_ID_HEADER] = trace.request_id
        response.headers[TRACEPARENT_HEADER] = trace.traceparent
        _count(route, response, seconds)
        # The route template, never the path or its query: both can carry identifiers.
        access_log.info("request", extra={
            "method": request.method, "route": route, "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
            # The FSC transaction id (gateway.fsc, a UUID), for matching the partner's logs.
            "transaction_id": g.get("fsc_transaction_id")})
        return response

    @app.teardown_request
    def _unbind(_error: BaseException | None) -> None:
        token = g.pop("trace_token", None)
        if token is not None:
            unbind_trace(token)


def _count(route: str, response: Response, seconds: float) -> None:
    container = current_container()
    metrics = container.metrics
    metrics.observe_request(request.method, route, response.status_code, seconds)
    if request.method != "POST":
        return
    if route == EXCHANGES_ROUTE:
        decisions = _json_object(response.get_json(silent=True)).get("decisions")
        if not isinstance(decisions, list):  # rejected before a decision: the body may be unread
            metrics.observe_exchange(response.status_code, None, [])
            return
        named = _json_object(g.get("json_body")).get("covenant")
        # Only a covenant of the bundle becomes a label: a partner cannot mint label values.
        covenant = named if isinstance(named, str) and container.bundle.covenant(named) else None
        metrics.observe_exchange(response.status_code, covenant,
                                 [bool(d.get("allowed")) for d in decisions if isinstance(d, dict)])
    elif route in REIDENTIFICATION_ROUTES:
        state = _json_object(response.get_json(silent=True)).get("status")
        metrics.observe_reidentification(response.status_code, state)


def _json_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
