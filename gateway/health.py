"""Liveness and readiness: /healthz (or /livez) says the process runs, /readyz that it can do
its job."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from gateway.auditing.probe import audit_appendable
from gateway.auditing.runner import audit_readiness
from gateway.container import current_container
from gateway.policy.interfaces import DecisionRequest
from gateway.problems import Problem

blueprint = Blueprint("health", __name__)

PROBE = DecisionRequest(
    covenant="readiness-probe", purpose="readiness-probe", process_step="detectie",
    provider="readiness-probe", recipient="readiness-probe", categories=("probe",),
    today="2000-01-01",
)


@blueprint.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@blueprint.get("/livez")
def livez() -> dict[str, str]:
    """/healthz under the name Kubernetes probes use (docker/haven)."""
    return healthz()


@blueprint.get("/readyz")
def readyz() -> Response:
    container = current_container()
    checks = {"database": _database(container), "policy": _policy(container),
              "audit": _audit(container)}
    ready = all(c["ok"] for c in checks.values())
    response = jsonify({"status": "ready" if ready else "not-ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


def _database(container: Any) -> dict[str, Any]:
    try:
        with container.session_factory() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _policy(container: Any) -> dict[str, Any]:
    # The probe names nothing that exists, so a working engine must answer with a denial;
    # an engine failure shows up as an engine failure reason instead. Asked uncached: a
    # remembered answer would say the engine was up when it answered, not now.
    try:
        decision = container.policy.probe(PROBE)
    except Problem as problem:
        # The engine refuses to decide (a remote OPA not yet on the published bundle).
        return {"ok": False, "engine": container.settings.policy_engine, "error": problem.slug,
                **container.policy.reload_status()}
    codes = [r.code for r in decision.reasons]
    ok = not decision.allowed and not decision.engine_failed
    # A policies tree that fails to reload does not make the gateway unready: it keeps
    # deciding with the last good bundle. The failure is reported here for monitoring.
    return {"ok": ok, "engine": container.settings.policy_engine,
            "bundle_hash": decision.bundle_hash, "reasons": codes,
            **container.policy.reload_status()}


def _audit(container: Any) -> dict[str, Any]:
    ok, detail = audit_readiness(container.session_factory,
                                 container.settings.audit_max_lag_seconds,
                                 clock=container.clock.now)
    if container.sequencer is not None:
        detail["sequencer"] = container.sequencer.health()
    append = audit_appendable(container.session_factory, container.audit)
    return {**detail, **append, "ok": ok and append["appendable"]}
