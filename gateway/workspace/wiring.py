"""Builds the workspace's services from the instance's database, keyring and clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.rate_limit import SharedLimit
from gateway.clock import Clock
from gateway.identity.services import derive_key
from gateway.keys import Keyring
from gateway.workspace.accounts import Accounts, TotpSealer
from gateway.workspace.oidc import IdentityProvider, OidcSignIn
from gateway.workspace.sessions import SessionStore

IDLE_TIMEOUT = timedelta(minutes=15)
SIGN_IN_LIMIT = 10  # attempts per address per window, passwords and codes together
SIGN_IN_WINDOW_SECONDS = 60


@dataclass
class Workspace:
    accounts: Accounts
    sessions: SessionStore
    throttle: SharedLimit  # sign-in attempts per client address, shared by every process
    oidc: OidcSignIn
    form_key: bytes  # signs the CSRF tokens of the forms


def build_accounts(session_factory: sessionmaker[Session], keyring: Keyring,
                   clock: Clock) -> Accounts:
    sealer = TotpSealer(derive_key(keyring.secret("workspace", 1), b"ketenpoort/workspace/totp"))
    return Accounts(session_factory, sealer, clock.now)


def build_workspace(session_factory: sessionmaker[Session], keyring: Keyring, clock: Clock,
                    providers: dict[str, IdentityProvider]) -> Workspace:
    accounts = build_accounts(session_factory, keyring, clock)
    return Workspace(
        accounts=accounts,
        sessions=SessionStore(session_factory, clock.now, IDLE_TIMEOUT),
        throttle=SharedLimit(
            "sign-in", SIGN_IN_LIMIT, SIGN_IN_WINDOW_SECONDS, session_factory,
            derive_key(keyring.secret("workspace", 1), b"ketenpoort/workspace/throttle"),
            clock.now),
        oidc=OidcSignIn(providers, accounts, session_factory, clock.now),
        form_key=derive_key(keyring.secret("workspace", 1), b"ketenpoort/workspace/forms"),
    )
