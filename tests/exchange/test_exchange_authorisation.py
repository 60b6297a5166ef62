"""Who gets 401, 403 or 2xx on each gateway endpoint."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.auth.services import ClientService
from gateway.db import transaction
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body

ENDPOINTS = [
    ("post", "/v1/exchanges", "exchange:write", 201),
    ("get", "/v1/inbox", "inbox:read", 200),
    # Served means looked up: another's exchange is absent (its 200: test_exchange_api).
    ("get", "/v1/exchanges/00000000-0000-4000-8000-000000000000", "exchange:write", 404),
]


@pytest.mark.parametrize(("method", "path", "scope", "ok"), ENDPOINTS)
def test_no_token_is_401(
    http: FlaskClient, method: str, path: str, scope: str, ok: int
) -> None:
    response = getattr(http, method)(path, json=exchange_body())

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "scope", "ok"), ENDPOINTS)
def test_garbage_token_is_401(
    http: FlaskClient, method: str, path: str, scope: str, ok: int
) -> None:
    response = getattr(http, method)(path, json=exchange_body(),
                                     headers={"Authorization": "Bearer not.a.token"})

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "scope", "ok"), ENDPOINTS)
def test_token_without_the_scope_is_403(
    gateway_app: Flask, http: FlaskClient, method: str, path: str, scope: str, ok: int
) -> None:
    other = ("audit:own",)
    response = getattr(http, method)(path, json=exchange_body(),
                                     headers=bearer(gateway_app, VLAARDINGEN, other))

    assert response.status_code == 403
    assert response.json["type"].endswith("/insufficient-scope")


@pytest.mark.parametrize(("method", "path", "scope", "ok"), ENDPOINTS)
def test_token_with_the_scope_is_served(
    gateway_app: Flask, http: FlaskClient, method: str, path: str, scope: str, ok: int
) -> None:
    response = getattr(http, method)(path, json=exchange_body(),
                                     headers=bearer(gateway_app, VLAARDINGEN, (scope,)))

    assert response.status_code == ok, response.json


def test_ack_needs_inbox_read(gateway_app: Flask, http: FlaskClient) -> None:
    assert http.post("/v1/inbox/x/ack").status_code == 401
    headers = bearer(gateway_app, RIEC, ("exchange:write",))
    assert http.post("/v1/inbox/x/ack", headers=headers).status_code == 403
    headers = bearer(gateway_app, RIEC, ("inbox:read",))
    assert http.post("/v1/inbox/x/ack", headers=headers).status_code == 404


def test_a_real_token_from_the_token_endpoint_sends_an_exchange(
    gateway_app: Flask, http: FlaskClient
) -> None:
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        client, secret = ClientService().create(
            session, VLAARDINGEN, ["exchange:write"], container.bundle.partner_ids())
        client_id = client.client_id

    token = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(client_id, secret))
    assert token.status_code == 200, token.json

    response = http.post("/v1/exchanges", json=exchange_body(),
                         headers={"Authorization": f"Bearer {token.json['access_token']}"})
    assert response.status_code == 201
