"""The gateway's health check of a remote OPA server, against a real HTTP server on 127.0.0.1.

No OPA binary exists here. The server below answers only the shape of OPA's Data API
(``POST /v1/data/<path>?provenance=true`` -> ``{"result": ..., "provenance": ...}``) with one
canned denial, enough for the health-check behaviour: OPA up, down, slow, or answering
something that is no decision. Whatever is wrong with the engine, ``/readyz`` says not ready
and an exchange is a ``503`` with ``Retry-After`` that records nothing, never a ``403``
refusal. (The decisions themselves are tested against a bundle-evaluating stand-in in
``test_opa_engine.py`` and the embedded engine.)
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from audit.models import AuditEntry
from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.exchange.models import Exchange
from gateway.keys import Keyring
from gateway.policy.covenants import PolicyBundle
from gateway.settings import Settings
from tests.factories import VLAARDINGEN, bearer, exchange_body

from .conftest import serving

TIMEOUT_SECONDS = 0.3


class OpaShapedServer:
    """Answers every decision with a well-formed denial from the published revision, unless
    ``mode`` says otherwise: ``slow`` (past the gateway's timeout), ``not-a-decision`` (200
    with a result no decision has), ``not-json`` (200 with an HTML page)."""

    def __init__(self, revision: str) -> None:
        self.revision = revision
        self.mode = "up"
        self.decisions = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def answer(self, document: dict[str, Any]) -> tuple[str, bytes]:
        self.decisions += 1
        if self.mode == "slow":
            time.sleep(TIMEOUT_SECONDS * 3)
        if self.mode == "not-json":
            return "text/html", b"<html><body>502 Bad Gateway</body></html>"
        result: Any = {"allowed": "yes"} if self.mode == "not-a-decision" else {
            "allowed": False, "categories_delivered": [],
            "categories_withheld": document["input"]["categories"], "identity": "none",
            "grants": {}, "reasons": [{"code": "unknown-covenant", "message": "unknown"}],
            "covenant_version": None, "identities": {}, "subject_identities": {}}
        answer = {"result": result,
                  "provenance": {"version": "stand-in", "bundles": {
                      "ketenpoort": {"revision": self.revision}}}}
        return "application/json", json.dumps(answer).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # One connection per answer: stopping the server then leaves no kept-alive
            # connection served by a handler thread, as a dead OPA process would not.
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                document = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                content_type, payload = server.answer(document)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # a slow answer nobody awaits
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler


@pytest.fixture
def opa(bundle: PolicyBundle) -> Iterator[OpaShapedServer]:
    server = OpaShapedServer(bundle.hash)
    with serving(server.httpd):
        yield server


@pytest.fixture
def app(opa: OpaShapedServer, settings: Settings, connection: Connection, keyring: Keyring,
        clock: ManualClock) -> Flask:
    return create_app(replace(settings, policy_engine="opa", opa_url=opa.url,
                              opa_timeout_seconds=TIMEOUT_SECONDS),
                      bind=connection, keyring=keyring, clock=clock)


def _stop(opa: OpaShapedServer) -> None:
    """OPA is down: nothing listens on its port any more."""
    opa.httpd.shutdown()
    opa.httpd.server_close()


def _counts(connection: Connection) -> tuple[int, int]:
    return (connection.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
            connection.execute(select(func.count()).select_from(Exchange)).scalar_one())


def test_readiness_follows_opa_up_and_then_down(app: Flask, opa: OpaShapedServer) -> None:
    http = app.test_client()
    up = [http.get("/readyz") for _ in range(2)]
    assert [r.status_code for r in up] == [200, 200]
    assert up[0].json["checks"]["policy"]["ok"] is True
    assert opa.decisions == 2  # asked each time: a remembered answer says nothing about now

    _stop(opa)
    down = http.get("/readyz")

    assert down.status_code == 503
    assert down.json["checks"]["policy"]["ok"] is False
    assert down.json["checks"]["policy"]["reasons"] == ["engine-error"]


@pytest.mark.parametrize(("fault", "reason"), [
    ("down", "engine-error"), ("slow", "engine-timeout"),
    ("not-a-decision", "undefined-result"), ("not-json", "engine-error"),
])
def test_with_opa_failing_readiness_says_so_and_exchanges_are_503_never_403(
    app: Flask, opa: OpaShapedServer, connection: Connection, fault: str, reason: str
) -> None:
    http = app.test_client()
    headers = bearer(app, VLAARDINGEN)
    before = _counts(connection)
    if fault == "down":
        _stop(opa)
    else:
        opa.mode = fault

    ready = http.get("/readyz")
    sent = http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    assert ready.status_code == 503
    assert ready.json["checks"]["policy"]["reasons"] == [reason]
    assert sent.status_code == 503, sent.json
    assert sent.mimetype == "application/problem+json"
    assert sent.json["type"].endswith("/policy-unavailable")
    assert int(sent.headers["Retry-After"]) > 0
    assert _counts(connection) == before  # nothing decided, stored or audited


def test_an_exchange_goes_through_again_once_opa_answers(
    app: Flask, opa: OpaShapedServer, connection: Connection
) -> None:
    http = app.test_client()
    headers = {**bearer(app, VLAARDINGEN), "Idempotency-Key": "retry-after-outage"}
    opa.mode = "slow"
    assert http.post("/v1/exchanges", json=exchange_body(), headers=headers).status_code == 503

    opa.mode = "up"
    again = http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    # The stand-in denies everything: a judgement this time, answered and audited as one.
    assert again.status_code == 403, again.json
    assert [d["reasons"][0]["code"] for d in again.json["decisions"]] == ["unknown-covenant"]
    assert _counts(connection)[0] == 1
