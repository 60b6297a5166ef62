"""The vault and pseudonymiser under test, on the session's keyring."""

from __future__ import annotations

import pytest

from gateway.identity.services import IdentityVault, Pseudonymiser
from gateway.keys import Keyring


@pytest.fixture(scope="session")
def vault(keyring: Keyring) -> IdentityVault:
    return IdentityVault(keyring)


@pytest.fixture(scope="session")
def pseudonymiser(keyring: Keyring) -> Pseudonymiser:
    return Pseudonymiser(keyring)
