"""The real application factory serves the audit API on its own container."""

from __future__ import annotations

import json
import re

from flask import Flask

from gateway.auditing.openapi import PATHS, SCHEMAS


def test_the_application_serves_the_audit_api(gateway_app: Flask) -> None:
    assert "audit_api" in gateway_app.blueprints
    http = gateway_app.test_client()
    keys = http.get("/v1/audit/public-keys")
    assert keys.status_code == 200
    assert keys.json is not None
    assert keys.json["keys"][0]["current"] is True
    assert http.get("/v1/audit/checkpoint").status_code == 401


def test_the_openapi_fragment_describes_exactly_the_blueprints_routes(audit_app: Flask) -> None:
    served = {
        (re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in audit_app.url_map.iter_rules()
        if rule.endpoint.startswith("audit_api.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    described = {(path, method) for path, item in PATHS.items() for method in item}
    assert served == described
    references = re.findall(r"#/components/schemas/(\w+)", json.dumps(PATHS))
    assert set(references) - {"Problem"} <= set(SCHEMAS)
