"""Shared fixtures: a real database per backend, a transaction per test, an app per test.

Every database test runs on SQLite and on the PostgreSQL on localhost. Set
``KETENPOORT_TEST_BACKENDS=sqlite`` (or ``postgresql``) to run one backend while developing.
The PostgreSQL tests use a database of their own per run, created on first use and dropped
at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from gateway import db
from gateway.app import create_app
from gateway.keys import Keyring
from gateway.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "KETENPOORT_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# One database per test run, so runs side by side (developers, CI, benchmarks) never share one.
POSTGRES_TEST_DB = f"ketenpoort_test_{os.getpid()}"
BACKENDS = [
    b.strip() for b in os.environ.get("KETENPOORT_TEST_BACKENDS", "sqlite,postgresql").split(",")
]


def _postgres_url() -> str:
    admin = db.make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": POSTGRES_TEST_DB}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{POSTGRES_TEST_DB}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + POSTGRES_TEST_DB


def _drop_postgres_database() -> None:
    admin = db.make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{POSTGRES_TEST_DB}" WITH (FORCE)'))
    admin.dispose()


def _fresh_postgres_engine() -> Engine:
    engine = db.make_engine(_postgres_url())
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        engine = db.make_engine(f"sqlite:///{path}")
    elif request.param == "postgresql":
        engine = _fresh_postgres_engine()
    else:
        raise pytest.UsageError(f"unknown test backend {request.param!r}")
    db.upgrade(engine)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        _drop_postgres_database()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    session = db.make_session_factory(connection)()
    yield session
    session.close()


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(instance_path=tmp_path / "instance")


@pytest.fixture
def gateway_app(settings: Settings, connection: Connection, keyring: Keyring) -> Any:
    """The real application on the per-test transaction."""
    return create_app(settings, bind=connection, keyring=keyring)


@pytest.fixture
def http(gateway_app: Any) -> Any:
    return gateway_app.test_client()
