"""Tables of the auth package: OAuth clients and the client assertions they have used."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.auth.interfaces import TOKEN_ENDPOINT_AUTH_METHODS
from gateway.db import Base, UTCDateTime, record_time

_AUTH_METHOD_LIST = ", ".join(f"'{method}'" for method in TOKEN_ENDPOINT_AUTH_METHODS)


class OAuthClient(Base):
    """A partner system allowed to ask for access tokens.

    A client authenticates with exactly one method: a secret (stored only as a KDF hash) or a
    signed assertion checked against the public keys in ``jwks``.
    """

    __tablename__ = "oauth_client"
    __table_args__ = (
        CheckConstraint(
            f"token_endpoint_auth_method IN ({_AUTH_METHOD_LIST})", name="auth_method"
        ),
    )

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class UsedClientAssertion(Base):
    """A client assertion ``jti`` already spent, kept until the assertion itself expires.

    The primary key makes a replay a constraint violation, so two concurrent requests carrying
    the same assertion cannot both succeed.
    """

    __tablename__ = "oauth_used_assertion"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_client.client_id"), primary_key=True
    )
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RateLimitHit(Base):
    """One admitted request of a rate-limited key (see :mod:`gateway.auth.rate_limit`)."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_key", "scope", "key_digest", "at"),
                      Index("ix_rate_limit_hit_age", "scope", "at"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32))
    key_digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
