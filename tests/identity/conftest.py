"""The vault and pseudonymiser under test, on the session's keyring; a keyring file and a
session factory on the test's transaction for the key rotation tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import make_session_factory
from gateway.identity.services import IdentityVault, Pseudonymiser
from gateway.keys import Keyring


@pytest.fixture(scope="session")
def vault(keyring: Keyring) -> IdentityVault:
    return IdentityVault(keyring)


@pytest.fixture(scope="session")
def pseudonymiser(keyring: Keyring) -> Pseudonymiser:
    return Pseudonymiser(keyring)


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    return path


@pytest.fixture
def factory(connection: Connection) -> sessionmaker[Session]:
    return make_session_factory(connection)
