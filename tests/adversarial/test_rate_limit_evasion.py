"""Attacks on the shared token request limits (table ``rate_limit_hit``).

* A network attacker rotates ``X-Forwarded-For`` (and ``Forwarded``, ``X-Real-IP``) to get a
  fresh per-address budget for every request: the limit keys on the connection's address.
* Guessing with a new client id per request (no per-client budget to exhaust): the address is
  refused first, so the table holds no more than one window's admitted hits of that address
  (and the ids it named), however many requests are made; and none of it is in the clear.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from gateway.app import create_app
from gateway.auth.models import RateLimitHit
from gateway.clock import ManualClock
from gateway.keys import Keyring
from gateway.settings import Settings

PER_ADDRESS, PER_CLIENT = 5, 3
ATTACK_REQUESTS = 4 * PER_ADDRESS


@pytest.fixture
def app(tmp_path: Path, test_policies_path: Path, connection: Connection, keyring: Keyring,
        clock: ManualClock) -> Flask:
    settings = Settings(instance_path=tmp_path / "instance", policies_path=test_policies_path,
                        token_requests_per_address=PER_ADDRESS,
                        token_requests_per_client=PER_CLIENT)
    return create_app(settings, bind=connection, keyring=keyring, clock=clock)


def _token_request(app: Flask, client_id: str, n: int) -> Any:
    spoofed = f"198.51.100.{n % 250}"
    return app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "guess"),
        headers={"X-Forwarded-For": spoofed, "X-Real-IP": spoofed,
                 "Forwarded": f"for={spoofed}"})


def test_spoofed_forwarding_headers_and_fresh_client_ids_do_not_lift_the_limit(
    app: Flask, connection: Connection
) -> None:
    ids = [uuid.uuid4().hex for _ in range(ATTACK_REQUESTS)]
    statuses = [_token_request(app, client_id, n).status_code
                for n, client_id in enumerate(ids)]

    assert statuses[:PER_ADDRESS] == [401] * PER_ADDRESS
    assert set(statuses[PER_ADDRESS:]) == {429}
    rows = connection.execute(select(RateLimitHit.key_digest, func.count())
                              .group_by(RateLimitHit.key_digest)).all()
    assert sum(count for _, count in rows) <= 2 * PER_ADDRESS
    stored = " ".join(digest for digest, _ in rows)
    assert not any(client_id in stored for client_id in ids)
    assert "127.0.0.1" not in stored
    assert "198.51.100" not in stored
