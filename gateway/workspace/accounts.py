"""Local accounts of people: argon2id passwords, a mandatory TOTP second factor, lockout.

No Flask here: the CLI and the sign-in pages call the same methods.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import transaction
from gateway.workspace.models import WorkspaceSession, WorkspaceUser
from gateway.workspace.roles import ROLES

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
TOTP_ISSUER = "Ketenpoort"
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
_NONCE_BYTES = 12


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    partner: str
    role: str
    totp_enrolled: bool


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of a password: ``account`` when right, ``locked`` while the lockout runs."""

    account: Account | None
    locked: bool = False


class TotpSealer:
    """Seals TOTP secrets at rest with the keyring's workspace key, bound to the account id."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, user_id: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), user_id.encode())

    def open(self, user_id: str, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, user_id.encode()).decode()


class Accounts:
    def __init__(self, session_factory: sessionmaker[Session], sealer: TotpSealer,
                 now: Callable[[], datetime], hasher: PasswordHasher | None = None) -> None:
        self.session_factory = session_factory
        self.sealer = sealer
        self.now = now
        self.hasher = hasher or PasswordHasher()  # argon2id with the library's RFC 9106 defaults
        self._decoy: str | None = None

    def create(self, partner: str, role: str, email: str,
               known_partners: frozenset[str]) -> tuple[Account, str]:
        """A new account and its initial password (shown once, stored only as a hash)."""
        email = email.strip().lower()
        if partner not in known_partners:
            raise AccountError(f"unknown partner {partner!r}")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if not EMAIL_PATTERN.match(email):
            raise AccountError(f"{email!r} is not an e-mail address")
        password = secrets.token_urlsafe(15)
        with transaction(self.session_factory) as session:
            if session.scalar(select(WorkspaceUser.id).where(WorkspaceUser.email == email)):
                raise AccountError(f"an account for {email} exists already")
            user = self._new_user(email, partner, role, self.hasher.hash(password))
            session.add(user)
            return _account(user), password

    def federated(self, partner: str, subject: str, email: str, role: str) -> Account:
        """The account of a person its partner's identity provider vouches for, made on first
        sign-in; the role follows the provider's claim at every sign-in."""
        if role not in ROLES:
            raise AccountError(f"the identity provider gave no known role ({role!r})")
        email = email.strip().lower()
        with transaction(self.session_factory) as session:
            user = session.scalar(select(WorkspaceUser).where(
                WorkspaceUser.partner == partner, WorkspaceUser.oidc_subject == subject))
            if user is None:
                if session.scalar(select(WorkspaceUser.id).where(WorkspaceUser.email == email)):
                    raise AccountError(f"{email} belongs to another account")
                # No password opens it: "!" is no argon2 hash, so every password check fails.
                user = self._new_user(email, partner, role, "!")
                user.oidc_subject = subject
                session.add(user)
            elif user.disabled:
                raise AccountError("this account is disabled")
            user.role = role
            return _account(user)

    def _new_user(self, email: str, partner: str, role: str, password_hash: str) -> WorkspaceUser:
        return WorkspaceUser(id=str(uuid.uuid4()), email=email, partner=partner, role=role,
                             password_hash=password_hash, totp_secret=None,
                             totp_enrolled=False, totp_last_step=0, disabled=False,
                             failed_attempts=0, locked_until=None, oidc_subject=None,
                             created_at=self.now())

    def disable(self, email: str) -> None:
        """The account cannot sign in any more, and its open sessions end now."""
        with transaction(self.session_factory) as session:
            user = self._by_email(session, email)
            user.disabled = True
            session.execute(delete(WorkspaceSession).where(WorkspaceSession.user_id == user.id))

    def reset_totp(self, email: str) -> None:
        """Forget the second factor: the next sign-in enrols a new one; sessions end now."""
        with transaction(self.session_factory) as session:
            user = self._by_email(session, email)
            user.totp_secret, user.totp_enrolled, user.totp_last_step = None, False, 0
            session.execute(delete(WorkspaceSession).where(WorkspaceSession.user_id == user.id))

    def check_password(self, email: str, password: str) -> PasswordCheck:
        with transaction(self.session_factory) as session:
            user = session.scalar(select(WorkspaceUser).where(
                WorkspaceUser.email == email.strip().lower()))
            if user is None or user.disabled:
                _verify(self.hasher, self._decoy_hash(), password)
                return PasswordCheck(None)
            if self._locked(user):
                return PasswordCheck(None, locked=True)
            if not _verify(self.hasher, user.password_hash, password):
                return PasswordCheck(None, locked=self._count_failure(user))
            if self.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self.hasher.hash(password)
            return PasswordCheck(_account(user))

    def start_enrolment(self, user_id: str) -> str:
        """A fresh TOTP secret for an account that has none enrolled; returns its otpauth URI."""
        with transaction(self.session_factory) as session:
            user = self._usable(session, user_id)
            if user.totp_enrolled:
                raise AccountError("the second factor is enrolled already")
            secret = pyotp.random_base32()
            user.totp_secret = self.sealer.seal(user.id, secret)
            return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)

    def enrol_directly(self, email: str) -> str:
        """Enrol a new TOTP secret without a sign-in (demo accounts); returns the secret."""
        with transaction(self.session_factory) as session:
            user = self._by_email(session, email)
            secret = pyotp.random_base32()
            user.totp_secret, user.totp_enrolled, user.totp_last_step = (
                self.sealer.seal(user.id, secret), True, 0)
            return secret

    def check_code(self, user_id: str, code: str) -> PasswordCheck:
        """A TOTP code, accepted once; a wrong one counts towards the same lockout."""
        with transaction(self.session_factory) as session:
            user = self._usable(session, user_id)
            if self._locked(user):
                return PasswordCheck(None, locked=True)
            step = self._matching_step(user, code.strip())
            if step is None:
                return PasswordCheck(None, locked=self._count_failure(user))
            user.totp_last_step, user.totp_enrolled, user.failed_attempts = step, True, 0
            return PasswordCheck(_account(user))

    def account(self, user_id: str) -> Account | None:
        with transaction(self.session_factory) as session:
            user = session.get(WorkspaceUser, user_id)
            return None if user is None or user.disabled else _account(user)

    def _decoy_hash(self) -> str:
        # Unknown e-mail addresses cost a hash too, so response time does not tell who exists.
        if self._decoy is None:
            self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._decoy

    def _matching_step(self, user: WorkspaceUser, code: str) -> int | None:
        if user.totp_secret is None or not re.fullmatch(r"\d{6}", code):
            return None
        totp = pyotp.TOTP(self.sealer.open(user.id, user.totp_secret))
        current = totp.timecode(self.now())
        # One step of drift either way; a step used before is never accepted again.
        for step in (current - 1, current, current + 1):
            if step > user.totp_last_step and secrets.compare_digest(
                    totp.generate_otp(step), code):
                return step
        return None

    def _locked(self, user: WorkspaceUser) -> bool:
        return user.locked_until is not None and user.locked_until > self.now()

    def _count_failure(self, user: WorkspaceUser) -> bool:
        user.failed_attempts += 1
        if user.failed_attempts >= MAX_FAILURES:
            user.locked_until, user.failed_attempts = self.now() + LOCKOUT, 0
            return True
        return False

    def _usable(self, session: Session, user_id: str) -> WorkspaceUser:
        user = session.get(WorkspaceUser, user_id)
        if user is None or user.disabled:
            raise AccountError("no usable account")
        return user

    @staticmethod
    def _by_email(session: Session, email: str) -> WorkspaceUser:
        user = session.scalar(select(WorkspaceUser).where(
            WorkspaceUser.email == email.strip().lower()))
        if user is None:
            raise AccountError(f"no account for {email}")
        return user


def current_code(otpauth_secret: str, moment: datetime) -> str:
    """The code an authenticator app shows at ``moment`` (the demo and the tests type it)."""
    return pyotp.TOTP(otpauth_secret).at(moment)


def _verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _account(user: WorkspaceUser) -> Account:
    return Account(user.id, user.email, user.partner, user.role, user.totp_enrolled)
