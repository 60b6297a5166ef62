"""Attacks on the token endpoint: guessing a secret, or burning the gateway's CPU on scrypt.

The adversary knows one partner's client id (it is not a secret: it travels in every Basic
header and every access token) and sends as many guesses as it likes from one address; or it
sends random client ids to make every request cost an scrypt run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from gateway.auth import secret_hashing
from gateway.auth.services import ClientService
from gateway.db import transaction
from gateway.settings import Settings
from tests.factories import VLAARDINGEN

GUESSES = 200


@pytest.fixture
def scrypt_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the real scrypt runs (each one still runs)."""
    runs: list[int] = []
    real: Callable[..., bytes] = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(secret_hashing.hashlib, "scrypt", counted)
    return runs


def _guess(app: Flask, client_id: str, secret: str) -> Any:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {credentials}"})


def test_guessing_a_known_clients_secret_is_cut_off_at_its_limit(
    gateway_app: Flask, settings: Settings, scrypt_runs: list[int]
) -> None:
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        client, _secret = ClientService().create(session, VLAARDINGEN, ["exchange:write"],
                                                 container.bundle.partner_ids())
    scrypt_runs.clear()

    answers = [_guess(gateway_app, client.client_id, f"guess-{n}") for n in range(GUESSES)]

    statuses = [a.status_code for a in answers]
    assert statuses.count(401) == settings.token_requests_per_client
    assert statuses.count(429) == GUESSES - settings.token_requests_per_client
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers if a.status_code == 429)
    assert len(scrypt_runs) == settings.token_requests_per_client


def test_random_client_ids_cost_no_scrypt_and_are_cut_off_per_address(
    gateway_app: Flask, settings: Settings, scrypt_runs: list[int]
) -> None:
    answers = [_guess(gateway_app, f"{n:032x}", "guess") for n in range(GUESSES)]

    statuses = [a.status_code for a in answers]
    assert statuses.count(401) == settings.token_requests_per_address
    assert statuses.count(429) == GUESSES - settings.token_requests_per_address
    assert scrypt_runs == []
