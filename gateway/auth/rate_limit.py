"""Rate limits shared by every gateway process: per-key hits counted in the database.

Every token request costs the gateway a database lookup and, for a secret, an scrypt run
(tens of milliseconds of CPU on purpose); unlimited, it is a brute-force oracle and a cheap way
to exhaust the workers. Workspace sign-ins (passwords and TOTP codes) are limited the same way.
The hits live in one table, so W gunicorn workers or several gateway hosts admit no more than
one process would: a limit of 30 a minute is 30 a minute for the whole installation.

The window slides: a key is admitted while fewer than ``limit`` of its admitted hits lie within
the last ``window_seconds``. Refused requests are not recorded (a refused key is free again as
soon as its oldest hit leaves the window). Keys are stored as keyed digests, so the table is no
log of which address signed in when for an operator with file access; hits older than the
window are deleted as new ones arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.models import RateLimitHit
from gateway.db import transaction


@dataclass(frozen=True)
class SharedLimit:
    """At most ``limit`` admitted requests per key in any ``window_seconds``, across processes."""

    scope: str
    limit: int
    window_seconds: int
    session_factory: sessionmaker[Session]
    digest_key: bytes
    now: Callable[[], datetime]

    def admit(self, key: str) -> int | None:
        """Count a request for ``key``: None when it may go on, else seconds until it may."""
        digest = hmac.new(self.digest_key, f"{self.scope}\0{key}".encode(),
                          hashlib.sha256).hexdigest()
        moment = self.now()
        start = moment - timedelta(seconds=self.window_seconds)
        with transaction(self.session_factory) as session:
            _serialise_key(session, digest)
            session.execute(delete(RateLimitHit).where(
                RateLimitHit.scope == self.scope, RateLimitHit.at <= start))
            count, oldest = session.execute(
                select(func.count(), func.min(RateLimitHit.at)).where(
                    RateLimitHit.scope == self.scope, RateLimitHit.key_digest == digest)
            ).one()
            if count >= self.limit:
                return max(1, math.ceil((oldest - start).total_seconds()))
            session.add(RateLimitHit(scope=self.scope, key_digest=digest, at=moment))
            return None


def _serialise_key(session: Session, digest: str) -> None:
    """Make concurrent requests for one key take turns, so two cannot both take the last hit.

    SQLite's writers already take turns (every transaction begins IMMEDIATE); PostgreSQL gets
    a transaction-scoped advisory lock on the key.
    """
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": lock_id})


@dataclass(frozen=True)
class TokenRequestLimits:
    per_client: SharedLimit
    per_address: SharedLimit

    def retry_after(self, address: str, client_id: str | None) -> int | None:
        """None when a token request from ``address`` for ``client_id`` may be handled.

        An address over its limit is refused before its client id is counted, so random client
        ids from one address cannot grow the table faster than the address limit allows.
        """
        wait = self.per_address.admit(address)
        if wait is not None or not client_id:
            return wait
        return self.per_client.admit(client_id)
