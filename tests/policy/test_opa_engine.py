"""The OPA engine, against a stand-in for an OPA server; and the OPA bundle tarball.

No OPA binary is available here, so ``FakeOpaServer`` plays one: a small HTTP server on
127.0.0.1 (random port) that answers OPA's Data API (``POST /v1/data/<path>`` with
``{"input": ...}`` -> ``{"result": ...}``) by evaluating, **with regopy**, the modules and data
it reads from the bundle tarball that ``write_opa_bundle`` wrote. Asked ``?provenance=true``,
it adds OPA's documented provenance object, ``{"version": ..., "bundles": {"<name>":
{"revision": "<the manifest's revision>"}}}``. It therefore checks our HTTP client and the
tarball's contents, not OPA's own evaluator.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import regopy
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from audit.models import AuditEntry
from gateway.app import create_app
from gateway.exchange.models import Exchange
from gateway.keys import Keyring
from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import (
    ENTRYPOINT,
    DecisionRequest,
    PolicyEngineError,
    PolicyRevisionMismatch,
    PolicyTimeout,
)
from gateway.policy.opa_engine import OpaEngine, reported_revisions, write_opa_bundle
from gateway.policy.services import PolicyService
from gateway.problems import Problem
from gateway.settings import Settings
from tests.factories import VLAARDINGEN, bearer, exchange_body

from .conftest import make_request, serving

DECISION_PATH = f"/v1/data/{ENTRYPOINT}"


def read_bundle(tarball: Path) -> dict[str, bytes]:
    files = {}
    with tarfile.open(tarball, mode="r:gz") as archive:
        for member in archive.getmembers():
            content = archive.extractfile(member)
            assert content is not None, f"{member.name} is not a regular file"
            files[member.name] = content.read()
    return files


class FakeOpaServer:
    """Serves the Data API for one bundle tarball; ``mode`` scripts misbehaviour."""

    def __init__(self, tarball: Path) -> None:
        files = read_bundle(tarball)
        builder = regopy.Interpreter()
        builder.add_data(json.loads(files["/data.json"]))
        for name, content in files.items():
            if name.endswith(".rego"):
                builder.add_module(name, content.decode())
        self.compiled = builder.build(None, [ENTRYPOINT])
        # What a real OPA would report: the revision in the bundle's manifest.
        self.revision: str | None = json.loads(files["/.manifest"])["revision"]
        self.interpreter = regopy.Interpreter()
        self.lock = threading.Lock()
        self.mode = "normal"
        self.requests: list[tuple[str, Any]] = []
        self.queries: list[dict[str, list[str]]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def evaluate(self, path: str, input: Any) -> Any:
        """OPA answers an undefined document with no "result"; so does this server."""
        if path != f"/v1/data/{ENTRYPOINT}":
            return {}
        with self.lock:
            self.interpreter.set_input(regopy.Input(input))
            output = self.interpreter.query_bundle_entrypoint(self.compiled, ENTRYPOINT)
        expressions = output.results[0].expressions if output.results else []
        return {"result": expressions[0]} if expressions else {}

    def provenance(self) -> dict[str, Any]:
        bundles = {} if self.revision is None else {"ketenpoort": {"revision": self.revision}}
        return {"version": "1.0.0-fake", "build_commit": "", "build_timestamp": "",
                "build_hostname": "", "bundles": bundles}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as OPA offers
            # Without these, headers and body leave in two small writes and Nagle's algorithm
            # meets delayed ACKs: every answer would wait about 40 ms.
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                server.requests.append((url.path, body))
                server.queries.append(query)
                if server.mode == "slow":
                    time.sleep(0.5)
                if server.mode == "error":
                    self._reply(500, {"code": "internal_error", "message": "boom"})
                    return
                answer = {} if server.mode == "no-result" else server.evaluate(
                    url.path, body["input"])
                if query.get("provenance") == ["true"]:
                    answer["provenance"] = server.provenance()
                self._reply(200, answer)

            def _reply(self, status: int, document: Any) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler


@pytest.fixture(scope="module")
def tarball(bundle: PolicyBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "bundle.tar.gz"
    write_opa_bundle(bundle, out)
    return out


@pytest.fixture(scope="module")
def opa_server(tarball: Path) -> Iterator[FakeOpaServer]:
    server = FakeOpaServer(tarball)
    with serving(server.httpd):
        yield server


@pytest.fixture
def opa(opa_server: FakeOpaServer, bundle: PolicyBundle) -> Iterator[FakeOpaServer]:
    opa_server.mode = "normal"
    opa_server.revision = bundle.hash
    opa_server.requests.clear()
    opa_server.queries.clear()
    yield opa_server
    opa_server.mode = "normal"
    opa_server.revision = bundle.hash


def test_engine_posts_input_to_the_data_api(opa: FakeOpaServer, bundle: PolicyBundle) -> None:
    engine = OpaEngine(bundle, opa.url, timeout=5.0)
    request = make_request(categories=("strafrechtelijk",))
    result = engine.evaluate(request.as_input())
    assert opa.requests == [(DECISION_PATH, {"input": request.as_input()})]
    assert result["categories_delivered"] == ["strafrechtelijk"]
    assert engine.bundle_hash == bundle.hash


def test_engine_asks_which_revision_answered(opa: FakeOpaServer, bundle: PolicyBundle) -> None:
    OpaEngine(bundle, opa.url, timeout=5.0).evaluate(make_request().as_input())
    assert opa.queries == [{"provenance": ["true"]}]


@pytest.mark.parametrize("revision", ["an-older-bundle", None], ids=["stale", "unreported"])
def test_an_answer_from_another_revision_is_refused(
    opa: FakeOpaServer, bundle: PolicyBundle, revision: str | None
) -> None:
    opa.revision = revision
    with pytest.raises(PolicyRevisionMismatch, match=bundle.hash):
        OpaEngine(bundle, opa.url, timeout=5.0).evaluate(make_request().as_input())


def test_the_service_refuses_to_decide_on_another_revision(
    opa: FakeOpaServer, bundle: PolicyBundle
) -> None:
    opa.revision = "an-older-bundle"
    service = PolicyService(OpaEngine(bundle, opa.url, timeout=5.0))
    for ask in (lambda: service.decide(make_request()),
                lambda: service.evaluate(ENTRYPOINT, make_request().as_input())):
        with pytest.raises(Problem) as refused:
            ask()
        assert refused.value.status == 503
        assert refused.value.slug == "policy-revision-mismatch"
        assert int(refused.value.headers["Retry-After"]) > 0
    opa.revision = bundle.hash  # OPA caught up: the same service decides again
    decision = service.decide(make_request())
    assert decision.bundle_hash == opa.provenance()["bundles"]["ketenpoort"]["revision"]


def test_revisions_are_read_from_every_bundle_and_the_legacy_field() -> None:
    assert reported_revisions({"bundles": {"a": {"revision": "x"}, "b": {"revision": "y"},
                                           "c": {}, "d": "z"}}) == {"x", "y"}
    assert reported_revisions({"revision": "legacy"}) == {"legacy"}
    assert reported_revisions({"bundles": [], "revision": 7}) == set()
    assert reported_revisions(None) == set()


def test_the_api_answers_503_with_retry_after_and_records_nothing(
    opa: FakeOpaServer, connection: Connection, keyring: Keyring, tmp_path: Path
) -> None:
    settings = Settings(instance_path=tmp_path / "instance", policy_engine="opa",
                        opa_url=opa.url, opa_timeout_seconds=5.0)
    app = create_app(settings, bind=connection, keyring=keyring)
    http: Any = app.test_client()
    headers = bearer(app, VLAARDINGEN)
    count = select(func.count()).select_from(AuditEntry)
    before = connection.execute(count).scalar_one()
    opa.revision = "an-older-bundle"
    response = http.post("/v1/exchanges", json=exchange_body(), headers=headers)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/policy-revision-mismatch")
    assert int(response.headers["Retry-After"]) > 0
    assert connection.execute(count).scalar_one() == before
    assert connection.execute(select(func.count()).select_from(Exchange)).scalar_one() == 0
    opa.revision = None  # readiness says so too
    ready = http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["policy"]["error"] == "policy-revision-mismatch"


def test_timeout_raises_policy_timeout(opa: FakeOpaServer, bundle: PolicyBundle) -> None:
    opa.mode = "slow"
    with pytest.raises(PolicyTimeout):
        OpaEngine(bundle, opa.url, timeout=0.1).evaluate(make_request().as_input())


def test_server_error_raises_engine_error(opa: FakeOpaServer, bundle: PolicyBundle) -> None:
    opa.mode = "error"
    with pytest.raises(PolicyEngineError):
        OpaEngine(bundle, opa.url, timeout=5.0).evaluate(make_request().as_input())


def test_unknown_path_has_no_result(opa: FakeOpaServer) -> None:
    # The stand-in must answer like OPA for an undefined document, or the undefined-result
    # test above would prove nothing.
    assert opa.evaluate("/v1/data/ketenpoort/nothing", {}) == {}


def test_refused_connection_denies(bundle: PolicyBundle) -> None:
    closed = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{closed.server_port}"
    closed.server_close()
    decision = PolicyService(OpaEngine(bundle, url, timeout=1.0)).decide(make_request())
    assert not decision.allowed
    assert [r.code for r in decision.reasons] == ["engine-error"]


@pytest.mark.parametrize(
    ("mode", "timeout", "code"),
    [("slow", 0.1, "engine-timeout"), ("no-result", 5.0, "undefined-result")],
)
def test_service_over_opa_fails_closed(
    opa: FakeOpaServer, bundle: PolicyBundle, mode: str, timeout: float, code: str
) -> None:
    opa.mode = mode
    decision = PolicyService(OpaEngine(bundle, opa.url, timeout)).decide(make_request())
    assert not decision.allowed
    assert [r.code for r in decision.reasons] == [code]


@pytest.mark.parametrize(
    "url", ["ftp://opa:8181", "http://opa:8181/v1/data", "opa:8181", "http://:8181"]
)
def test_unusable_url_is_refused(bundle: PolicyBundle, url: str) -> None:
    with pytest.raises(ValueError, match="OPA url"):
        OpaEngine(bundle, url, timeout=1.0)


def test_both_engines_decide_the_matrix_identically(
    opa: FakeOpaServer, bundle: PolicyBundle, matrix: dict[DecisionRequest, Any]
) -> None:
    service = PolicyService(OpaEngine(bundle, opa.url, timeout=5.0), cache_size=0)
    differences = [r for r, decision in matrix.items() if service.decide(r) != decision]
    assert differences == []
    assert len(opa.requests) == len(matrix)


# --- the bundle tarball ---


def test_tarball_holds_manifest_data_and_policies(tarball: Path, bundle: PolicyBundle) -> None:
    files = read_bundle(tarball)
    assert set(files) == {"/.manifest", "/data.json", *(f"/{name}" for name in bundle.modules)}
    assert json.loads(files["/.manifest"]) == {
        "revision": bundle.hash, "roots": ["ketenpoort"], "rego_version": 1,
    }
    assert json.loads(files["/data.json"]) == bundle.data
    assert files["/ketenpoort/exchange/decision.rego"].decode() == (
        bundle.modules["ketenpoort/exchange/decision.rego"]
    )


def test_tarball_is_reproducible(bundle: PolicyBundle, tmp_path: Path) -> None:
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    write_opa_bundle(bundle, first)
    write_opa_bundle(bundle, second)
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first.read_bytes()))) as archive:
        assert {m.mtime for m in archive.getmembers()} == {0}
