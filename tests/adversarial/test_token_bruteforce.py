"""Attacks on the token endpoint: guessing a secret, or burning the gateway's CPU on scrypt.

The adversary knows one partner's client id (it is not a secret: it travels in every Basic
header and every access token) and sends as many guesses as it likes from one address, spread
over the gateway's worker processes; or it sends random client ids to make every request cost
an scrypt run. An operator with file access reads the table that counts the requests.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.auth import secret_hashing
from gateway.auth.models import RateLimitHit
from gateway.auth.services import ClientService
from gateway.clock import ManualClock
from gateway.db import transaction
from gateway.keys import Keyring
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


def test_spreading_guesses_over_gateway_processes_does_not_multiply_the_limit(
    gateway_app: Flask, settings: Settings, connection: Connection, keyring: Keyring,
    clock: ManualClock,
) -> None:
    """Each worker of a multi-process gateway is another app on the same database."""
    second_worker = create_app(settings, bind=connection, keyring=keyring, clock=clock)
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        client, _secret = ClientService().create(session, VLAARDINGEN, ["exchange:write"],
                                                 container.bundle.partner_ids())

    answers = [_guess((gateway_app, second_worker)[n % 2], client.client_id, f"guess-{n}")
               for n in range(GUESSES)]

    assert [a.status_code for a in answers].count(401) == settings.token_requests_per_client


def test_the_shared_counts_hold_no_address_or_client_id_for_an_operator_to_read(
    gateway_app: Flask, session: Session
) -> None:
    client_id = f"{7:032x}"
    _guess(gateway_app, client_id, "guess")

    digests = session.scalars(select(RateLimitHit.key_digest)).all()
    assert len(digests) == 2  # the address and the client id
    unkeyed = {hashlib.sha256(value.encode()).hexdigest() for value in (client_id, "127.0.0.1")}
    assert not unkeyed & set(digests)
    rows = session.execute(select(RateLimitHit.scope, RateLimitHit.key_digest, RateLimitHit.at))
    stored = " ".join(str(value) for row in rows for value in row)
    assert client_id not in stored
    assert "127.0.0.1" not in stored
