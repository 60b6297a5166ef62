"""Builds the workspace's services from the instance's database, keyring and clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import Clock
from gateway.identity.services import derive_key
from gateway.keys import Keyring
from gateway.workspace.accounts import Accounts, TotpSealer
from gateway.workspace.oidc import IdentityProvider, OidcSignIn
from gateway.workspace.sessions import SessionStore
from gateway.workspace.throttle import SignInThrottle

IDLE_TIMEOUT = timedelta(minutes=15)
SIGN_IN_LIMIT = 10  # attempts per address per SIGN_IN_WINDOW, passwords and codes together
SIGN_IN_WINDOW = timedelta(minutes=1)


@dataclass
class Workspace:
    accounts: Accounts
    sessions: SessionStore
    throttle: SignInThrottle
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
        throttle=SignInThrottle(SIGN_IN_LIMIT, SIGN_IN_WINDOW, clock.now),
        oidc=OidcSignIn(providers, accounts, session_factory, clock.now),
        form_key=derive_key(keyring.secret("workspace", 1), b"ketenpoort/workspace/forms"),
    )
