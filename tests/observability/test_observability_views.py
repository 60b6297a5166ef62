"""Every request carries a request id and a trace context, writes one access line without its
path or query, and is counted; /metrics answers the operator's token only."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from gateway.logs import JsonFormatter
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body

METRICS_TOKEN = "operator-metrics-token-0123456789"
CALLER_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
AUDIT_PSEUDONYM = "ap-7f3a9c2e51d04b6f"
LB_REQUEST_ID = "9f1c0e7a4b2d4c6e8a0b1c2d3e4f5a6b"  # nginx's $request_id: 32 hex digits
CLIENT_REQUEST_ID = "3b241101-e2bb-4255-8caf-4136c566a962"


@pytest.fixture
def observed(settings: Any, connection: Any, keyring: Any, clock: Any) -> Any:
    app = create_app(settings.with_overrides(metrics_token=METRICS_TOKEN), bind=connection,
                     keyring=keyring, clock=clock)
    return app


class JsonLines(logging.Handler):
    """Formats each record as it is emitted, in the logging thread, as the stderr handler of
    ``ketenpoort serve`` does."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    handler = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_the_request_id_and_trace_are_echoed(http: FlaskClient) -> None:
    response = http.get("/healthz", headers={"X-Request-Id": LB_REQUEST_ID,
                                             "traceparent": CALLER_TRACE})

    assert response.headers["X-Request-Id"] == LB_REQUEST_ID
    version, trace_id, span_id, flags = response.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span_id != "00f067aa0ba902b7"


def test_a_request_id_of_free_text_is_replaced(http: FlaskClient) -> None:
    response = http.get("/healthz", headers={"X-Request-Id": "dossier-Jansen-1999-04-02"})

    assert "Jansen" not in response.headers["X-Request-Id"]
    assert len(response.headers["X-Request-Id"]) == 32


def test_a_request_without_them_gets_new_ones(http: FlaskClient) -> None:
    first = http.get("/healthz").headers
    second = http.get("/healthz").headers

    assert first["X-Request-Id"] != second["X-Request-Id"]
    assert first["traceparent"].split("-")[1] != second["traceparent"].split("-")[1]


def test_the_access_line_names_the_route_and_never_the_query(
    observed: Any, log_lines: list[str]
) -> None:
    http = observed.test_client()
    headers = bearer(observed, RIEC, ("audit:read",))

    response = http.get(f"/v1/audit/events?pseudonym={AUDIT_PSEUDONYM}",
                        headers={**headers, "X-Request-Id": CLIENT_REQUEST_ID})

    # Answered (200) or refused because a pseudonym belongs in a POST body (422): never logged.
    assert response.status_code in (200, 422), response.json
    lines = log_lines
    assert not [line for line in lines if AUDIT_PSEUDONYM in line]
    access = [json.loads(line) for line in lines if '"gateway.access"' in line]
    assert access == [{**access[0], "route": "/v1/audit/events", "status": response.status_code,
                       "request_id": CLIENT_REQUEST_ID, "method": "GET"}]
    assert access[0]["traceparent"] == response.headers["traceparent"]
    assert access[0]["transaction_id"] == response.headers["Fsc-Transaction-Id"]


def test_a_path_identifier_is_logged_as_its_route_template(
    observed: Any, log_lines: list[str]
) -> None:
    observed.test_client().get(f"/v1/cases/{AUDIT_PSEUDONYM}")

    lines = log_lines
    assert [json.loads(line)["route"] for line in lines if '"gateway.access"' in line] == [
        "/v1/cases/<case_id>"]
    assert not [line for line in lines if AUDIT_PSEUDONYM in line]


def _metrics(http: FlaskClient) -> str:
    response = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_metrics_count_requests_per_route_and_exchanges_by_outcome(observed: Any) -> None:
    http = observed.test_client()
    headers = bearer(observed, VLAARDINGEN)
    http.post("/v1/exchanges", json=exchange_body(),
              headers={**headers, "Idempotency-Key": "metrics-1"})
    http.post("/v1/exchanges", json=exchange_body(recipients=["woningcorporatie-waterweg"]),
              headers={**headers, "Idempotency-Key": "metrics-2"})
    http.get("/v1/cases/some-case-id")

    text = _metrics(http)

    covenant = 'covenant="riec-rr-mensenhandel"'
    assert f'ketenpoort_exchanges_total{{{covenant},outcome="accepted"}} 1.0' in text
    assert f'ketenpoort_exchanges_total{{{covenant},outcome="refused"}} 1.0' in text
    assert f'ketenpoort_exchange_decisions_total{{{covenant},decision="allowed"}} 1.0' in text
    assert f'ketenpoort_exchange_decisions_total{{{covenant},decision="refused"}} 1.0' in text
    assert ('ketenpoort_http_requests_total{method="POST",route="/v1/exchanges",status="201"} 1.0'
            in text)
    assert 'route="/v1/cases/<case_id>"' in text
    assert "some-case-id" not in text
    assert 'ketenpoort_http_request_duration_seconds_bucket{le="0.005",method="POST"' in text


def test_metrics_report_the_outbox_and_the_audit_log(observed: Any) -> None:
    http = observed.test_client()
    http.post("/v1/exchanges", json=exchange_body(),
              headers={**bearer(observed, VLAARDINGEN), "Idempotency-Key": "metrics-3"})

    text = _metrics(http)

    assert "ketenpoort_state_up 1.0" in text
    assert "ketenpoort_outbox_pending 1.0" in text
    assert "ketenpoort_outbox_dead_letters 0.0" in text
    assert "ketenpoort_audit_sequencer_lag_seconds " in text
    assert "ketenpoort_outbox_oldest_pending_age_seconds " in text


def test_metrics_are_closed_to_partner_tokens_and_to_no_token(observed: Any) -> None:
    http = observed.test_client()
    partner = bearer(observed, RIEC, ("audit:read", "exchange:write", "inbox:read"))

    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers=partner).status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_metrics_are_not_served_without_a_token_setting(http: FlaskClient) -> None:
    assert http.get("/metrics").status_code == 404


def test_a_covenant_the_bundle_lacks_never_becomes_a_label(observed: Any) -> None:
    http = observed.test_client()
    http.post("/v1/exchanges", json=exchange_body(covenant="made-up-covenant-eva-jansen"),
              headers={**bearer(observed, VLAARDINGEN), "Idempotency-Key": "metrics-4"})

    text = _metrics(http)

    assert 'ketenpoort_exchanges_total{covenant="none",outcome="rejected"} 1.0' in text
    assert "eva-jansen" not in text


def test_metrics_count_reidentifications_by_the_state_they_leave(observed: Any) -> None:
    http = observed.test_client()
    http.post("/v1/reidentifications", json={"pseudonym": "nonexistent"},
              headers=bearer(observed, RIEC, ("reidentify",)))

    assert 'ketenpoort_reidentifications_total{state="rejected"} 1.0' in _metrics(http)
