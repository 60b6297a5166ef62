"""Accounts of people and their server-side sessions.

A session row is keyed by a digest of the cookie's token, so a database reader cannot replay a
session; a stolen cookie dies with the row (sign-out, idle expiry, a disabled account).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime


class WorkspaceUser(Base):
    __tablename__ = "workspace_users"
    __table_args__ = (UniqueConstraint("partner", "oidc_subject"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    partner: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    # The TOTP secret sealed with the keyring's workspace key; None until (re-)enrolment.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last accepted TOTP time step: a code is accepted once, never replayed.
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The ``sub`` at the partner's identity provider; None for local accounts.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkspaceSession(Base):
    __tablename__ = "workspace_sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("workspace_users.id"), index=True)
    # "password": the password was right, the second factor is still due; "enrol": the same,
    # for a person without a TOTP secret yet; "signed-in": both factors passed.
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class OidcFlow(Base):
    """An OpenID Connect sign-in under way: used once, by the browser that began it."""

    __tablename__ = "workspace_oidc_flows"

    state_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
