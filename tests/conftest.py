"""Shared fixtures: a real database per backend, a transaction per test, an app per test.

Every database test runs on SQLite and on the PostgreSQL on localhost. Set
``KETENPOORT_TEST_BACKENDS=sqlite`` (or ``postgresql``) to run one backend while developing.
The PostgreSQL tests use a database of their own per run, created on first use and dropped
at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from gateway import db
from gateway.app import create_app
from gateway.clock import SYSTEM_CLOCK, ManualClock, parse_moment
from gateway.container import Container, build_container
from gateway.keys import Keyring
from gateway.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "KETENPOORT_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# One database per test run, so runs side by side (developers, CI, benchmarks) never share one.
POSTGRES_TEST_DB = f"ketenpoort_test_{os.getpid()}"
POLICIES_PATH = Path(__file__).resolve().parents[1] / "policies"
# Tests that run a child pytest (see ``pytest_collection_modifyitems``).
CHILD_SUITE_TESTS = "tests/test_calendar_independence.py"
# The day the suite runs on. Every date a test compares with "today" is made from it, so the
# suite passes whatever the calendar says: KETENPOORT_TEST_TODAY=2031-01-01 pytest proves it.
TEST_TODAY = (date.fromisoformat(os.environ["KETENPOORT_TEST_TODAY"])
              if os.environ.get("KETENPOORT_TEST_TODAY") else SYSTEM_CLOCK.today())
SEALING_LAG_OF_A_TEST_APP = 365 * 86_400.0
#: Where each test's clock stands until the test moves it: 09:00 on the suite's day.
TEST_MORNING = parse_moment(TEST_TODAY.isoformat())
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


@contextmanager
def instance_database(backend: str, monkeypatch: pytest.MonkeyPatch, name: str
                      ) -> Iterator[None]:
    """KETENPOORT_DATABASE_URL for an instance the CLI makes and commits to: on PostgreSQL a
    database of its own, dropped afterwards; on SQLite the instance's file."""
    if backend != "postgresql":
        monkeypatch.delenv("KETENPOORT_DATABASE_URL", raising=False)
        yield
        return
    database = f"ketenpoort_{name}_{uuid.uuid4().hex[:10]}"
    postgres_admin(f'CREATE DATABASE "{database}"')
    monkeypatch.setenv("KETENPOORT_DATABASE_URL",
                       POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + database)
    try:
        yield
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def postgres_admin(statement: str) -> None:
    admin = db.make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(statement))
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
def session(connection: Connection, clock: ManualClock) -> Iterator[Session]:
    session = db.make_session_factory(connection, clock)()
    yield session
    session.close()


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate()


def policies_in_force_on(day: date, target: Path) -> Path:
    """A copy of ``policies/`` whose covenants run from a year before ``day`` to two years after.

    The shipped covenants carry real signing dates; the suite must not stop working when the
    calendar passes them, nor depend on the day it runs.
    """
    shutil.copytree(POLICIES_PATH, target)
    for path in (target / "covenants").glob("*.yaml"):
        text = re.sub(r'^valid_from: "[0-9-]+"$', f'valid_from: "{day - timedelta(days=365)}"',
                      path.read_text(), flags=re.MULTILINE)
        text = re.sub(r'^valid_until: "[0-9-]+"$', f'valid_until: "{day + timedelta(days=730)}"',
                      text, flags=re.MULTILINE)
        path.write_text(text)
    return target


@pytest.fixture(scope="session")
def test_policies_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return policies_in_force_on(TEST_TODAY, tmp_path_factory.mktemp("policies") / "policies")


@pytest.fixture
def clock() -> ManualClock:
    """The product's clock for one test: 09:00 on the suite's day, still until moved."""
    return ManualClock(TEST_MORNING)


@pytest.fixture
def settings(tmp_path: Path, test_policies_path: Path) -> Settings:
    # No sequencer seals beside a test's app, and tests move the product clock on (terms,
    # deadlines, windows): the audit gate's lag limit is a year here; its own tests set theirs.
    return Settings(instance_path=tmp_path / "instance", policies_path=test_policies_path,
                    audit_max_lag_seconds=SEALING_LAG_OF_A_TEST_APP)


@pytest.fixture
def gateway_app(settings: Settings, connection: Connection, keyring: Keyring,
                clock: ManualClock) -> Any:
    """The real application on the per-test transaction."""
    return create_app(settings, bind=connection, keyring=keyring, clock=clock)


@pytest.fixture
def container(settings: Settings, connection: Connection, keyring: Keyring,
              clock: ManualClock) -> Container:
    """The composition root on the per-test transaction, as a CLI command receives it."""
    return build_container(settings, bind=connection, keyring=keyring, clock=clock)


@pytest.fixture
def http(gateway_app: Any) -> Any:
    return gateway_app.test_client()


@pytest.hookimpl(trylast=True)  # after pytest's own grouping of tests by session fixture
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The calendar test's child suites run first, while this process is still small.

    A child suite takes about 10 GiB (regopy's decision matrices); this process grows past
    13 GiB by the end of the run, and the two together do not fit in the 24 GiB of the machine
    the suite runs on. The sort is stable: every other test keeps its place.
    """
    items.sort(key=lambda item: not item.nodeid.startswith(CHILD_SUITE_TESTS))
