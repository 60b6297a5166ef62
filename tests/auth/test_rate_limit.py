"""Token requests are limited per client id and per source address: 429 with Retry-After."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.auth.rate_limit import MAX_TRACKED_KEYS, SlidingWindowLimit
from gateway.clock import ManualClock
from gateway.settings import Settings

from .factories import secret_client
from .test_token_endpoint import request_with_secret

PER_CLIENT, PER_ADDRESS = 3, 5


@pytest.fixture
def limit_settings() -> Settings:
    return Settings(token_requests_per_client=PER_CLIENT, token_requests_per_address=PER_ADDRESS)


def test_a_client_past_its_limit_gets_429_until_the_window_passes(
    http: FlaskClient, session: Session, clock: ManualClock
) -> None:
    client, secret = secret_client(session)
    for _ in range(PER_CLIENT):
        assert request_with_secret(http, client.client_id, secret).status_code == 200

    refused = request_with_secret(http, client.client_id, secret)

    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    clock.advance(timedelta(seconds=61))
    assert request_with_secret(http, client.client_id, secret).status_code == 200


def test_an_address_past_its_limit_gets_429_whatever_client_it_names(
    http: FlaskClient, session: Session
) -> None:
    names = [f"{n:032x}" for n in range(PER_ADDRESS)]
    assert all(request_with_secret(http, name, "guess").status_code == 401 for name in names)
    client, secret = secret_client(session)

    assert request_with_secret(http, client.client_id, secret).status_code == 429


def test_the_limit_remembers_a_bounded_number_of_keys(clock: ManualClock) -> None:
    limit = SlidingWindowLimit(1, 60.0, clock.now)
    for n in range(MAX_TRACKED_KEYS + 10):
        limit.admit(str(n))

    assert limit.admit("0") is None  # forgotten, so admitted again
    assert limit.admit(str(MAX_TRACKED_KEYS + 9)) is not None
