"""The OpenAPI description covers exactly the routes the app serves."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_every_route_is_described_and_every_description_is_served(
    gateway_app: Flask, http: FlaskClient
) -> None:
    document = http.get("/openapi.json").json
    served = {
        (_flask_to_openapi(rule.rule), method.lower())
        for rule in gateway_app.url_map.iter_rules()
        # The workspace's pages are for people's browsers, not part of the API.
        if rule.endpoint != "static" and not rule.endpoint.startswith("workspace.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item}

    assert document["openapi"].startswith("3.1")
    assert served == described


def test_health_endpoints(http: FlaskClient) -> None:
    assert http.get("/healthz").json == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["policy"]["bundle_hash"]
