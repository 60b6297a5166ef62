"""Token requests are limited per client id and per source address: 429 with Retry-After.

The counts live in the database, so every gateway process (gunicorn worker, host) shares them.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from gateway import db
from gateway.auth.models import RateLimitHit
from gateway.auth.rate_limit import SharedLimit
from gateway.clock import ManualClock
from gateway.settings import Settings

from .factories import secret_client
from .test_token_endpoint import request_with_secret

PER_CLIENT, PER_ADDRESS = 3, 5
KEY = b"k" * 32


@pytest.fixture
def limit_settings() -> Settings:
    return Settings(token_requests_per_client=PER_CLIENT, token_requests_per_address=PER_ADDRESS)


def _limit(connection: Connection | Engine, clock: ManualClock, limit: int = 2,
           scope: str = "test") -> SharedLimit:
    return SharedLimit(scope, limit, 60, db.make_session_factory(connection), KEY, clock.now)


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


def test_the_window_slides_and_retry_after_names_when_the_oldest_hit_leaves_it(
    connection: Connection, clock: ManualClock
) -> None:
    limit = _limit(connection, clock)
    assert limit.admit("a") is None
    clock.advance(timedelta(seconds=40))
    assert limit.admit("a") is None

    assert limit.admit("a") == 20
    clock.advance(timedelta(seconds=20))
    assert limit.admit("a") is None  # the first hit left the window; the second still counts
    assert limit.admit("a") == 40  # when the hit at second 40 leaves it
    assert limit.admit("b") is None  # another key has its own count


def test_two_processes_on_one_database_share_one_limit(
    connection: Connection, clock: ManualClock
) -> None:
    worker_one, worker_two = _limit(connection, clock), _limit(connection, clock)

    assert worker_one.admit("10.0.0.7") is None
    assert worker_two.admit("10.0.0.7") is None
    assert worker_one.admit("10.0.0.7") is not None
    assert worker_two.admit("10.0.0.7") is not None


def test_hits_older_than_the_window_are_deleted(
    connection: Connection, session: Session, clock: ManualClock
) -> None:
    limit = _limit(connection, clock, limit=100)
    for key in map(str, range(20)):
        limit.admit(key)
    clock.advance(timedelta(seconds=61))
    limit.admit("late")

    assert session.scalar(select(func.count()).where(RateLimitHit.scope == "test")) == 1


def test_concurrent_requests_for_the_last_slot_admit_exactly_the_limit(
    engine: Engine, clock: ManualClock
) -> None:
    """Eight processes' worth of requests at once, on their own connections and commits."""
    limit = _limit(engine, clock, limit=3, scope="test-concurrent")
    barrier = threading.Barrier(8)
    answers: list[int | None] = []

    def ask() -> None:
        barrier.wait()
        answers.append(limit.admit("203.0.113.9"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        with db.transaction(db.make_session_factory(engine)) as session:
            session.execute(delete(RateLimitHit).where(RateLimitHit.scope == "test-concurrent"))

    assert answers.count(None) == 3
    assert [wait for wait in answers if wait is not None] == [60] * 5
