"""A database or audit log that fails answers 503 with Retry-After, never 500; nothing stored."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from gateway import db
from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.exchange.models import Exchange
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body

# Nothing listens on port 1: every connection attempt is refused at once, as when the database
# server is down.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/ketenpoort"

REFUSE_AUDIT_INSERTS = {
    "sqlite": ["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
               "BEGIN SELECT RAISE(ABORT, 'audit inserts refused'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit inserts refused'; END $$",
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    ],
}
ALLOW_AUDIT_INSERTS = {
    "sqlite": ["DROP TRIGGER refuse_audit"],
    "postgresql": ["DROP TRIGGER refuse_audit ON audit_entries", "DROP FUNCTION refuse_audit()"],
}


@pytest.fixture
def database_down(settings: Settings, keyring: Keyring, clock: ManualClock
                  ) -> Iterator[Flask]:
    """The same gateway (same keyring, so its tokens verify) with its database unreachable."""
    engine = db.make_engine(UNREACHABLE, connect_args={"connect_timeout": 2})
    yield create_app(settings, bind=engine, keyring=keyring, clock=clock)
    engine.dispose()


def _run(connection: Connection, statements: dict[str, list[str]]) -> None:
    for statement in statements[connection.dialect.name]:
        connection.execute(text(statement))


def _assert_retry_later(response: Any, slug: str) -> None:
    assert response.status_code == 503, response.data
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/" + slug)
    assert int(response.headers["Retry-After"]) > 0


def test_token_check_against_a_database_that_is_down_is_503(
    gateway_app: Flask, database_down: Flask
) -> None:
    headers = bearer(gateway_app, VLAARDINGEN)

    response = database_down.test_client().post("/v1/exchanges", json=exchange_body(),
                                                 headers=headers)

    _assert_retry_later(response, "storage-unavailable")


def test_token_endpoint_against_a_database_that_is_down_is_503(database_down: Flask) -> None:
    credentials = base64.b64encode(b"0123456789abcdef0123456789abcdef:secret").decode()

    response = database_down.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {credentials}"})

    _assert_retry_later(response, "storage-unavailable")


def test_readiness_with_the_database_down_is_not_ready(database_down: Flask) -> None:
    response: Any = database_down.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["checks"]["audit"]["appendable"] is False


def test_refused_audit_insert_is_503_and_stores_nothing(
    gateway_app: Flask, http: FlaskClient, connection: Connection
) -> None:
    headers = bearer(gateway_app, VLAARDINGEN)
    _run(connection, REFUSE_AUDIT_INSERTS)

    response = http.post("/v1/exchanges", json=exchange_body(recipients=[RIEC]), headers=headers)

    _assert_retry_later(response, "audit-unavailable")
    assert connection.scalar(select(func.count()).select_from(Exchange)) == 0


def test_readiness_follows_whether_the_audit_log_takes_entries(
    http: FlaskClient, connection: Connection
) -> None:
    assert http.get("/readyz").status_code == 200
    _run(connection, REFUSE_AUDIT_INSERTS)

    refused: Any = http.get("/readyz")

    assert refused.status_code == 503
    assert refused.json["checks"]["audit"]["appendable"] is False
    assert refused.json["checks"]["database"]["ok"] is True
    _run(connection, ALLOW_AUDIT_INSERTS)
    assert http.get("/readyz").status_code == 200


def test_the_readiness_probe_leaves_no_entry(http: FlaskClient, connection: Connection) -> None:
    http.get("/readyz")

    assert connection.scalar(text("SELECT count(*) FROM audit_entries")) == 0
