"""Server-side sessions of people: a random token in the cookie, its digest in the database.

A session expires after ``idle`` without a request; sign-in replaces the token at each stage
(password, second factor), so a token planted before sign-in never becomes a signed-in one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import transaction
from gateway.workspace.models import WorkspaceSession, WorkspaceUser

PASSWORD_STAGE = "password"  # noqa: S105 -- a stage name, not a password
ENROL_STAGE = "enrol"
SIGNED_IN = "signed-in"


@dataclass(frozen=True)
class LiveSession:
    user_id: str
    partner: str
    role: str
    email: str
    stage: str


class SessionStore:
    def __init__(self, session_factory: sessionmaker[Session], now: Callable[[], datetime],
                 idle: timedelta) -> None:
        self.session_factory = session_factory
        self.now = now
        self.idle = idle

    def start(self, user_id: str, stage: str, replacing: str | None = None) -> str:
        """A new session token at ``stage``; the session ``replacing`` (if any) ends."""
        token = secrets.token_urlsafe(32)
        moment = self.now()
        with transaction(self.session_factory) as session:
            if replacing:
                session.execute(delete(WorkspaceSession).where(
                    WorkspaceSession.token_digest == _digest(replacing)))
            session.add(WorkspaceSession(token_digest=_digest(token), user_id=user_id,
                                         stage=stage, created_at=moment, last_seen=moment))
        return token

    def resume(self, token: str) -> LiveSession | None:
        """The live session behind ``token``, touched; None when unknown, idle or disabled."""
        with transaction(self.session_factory) as session:
            row = session.get(WorkspaceSession, _digest(token))
            if row is None:
                return None
            user = session.get(WorkspaceUser, row.user_id)
            moment = self.now()
            if user is None or user.disabled or row.last_seen + self.idle <= moment:
                session.delete(row)
                return None
            row.last_seen = moment
            return LiveSession(user.id, user.partner, user.role, user.email, row.stage)

    def end(self, token: str) -> None:
        with transaction(self.session_factory) as session:
            session.execute(delete(WorkspaceSession).where(
                WorkspaceSession.token_digest == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
