"""Client secrets at rest: scrypt with a per-secret salt, compared in constant time.

The stored form names its parameters (``scrypt$n$r$p$salt$hash``) so they can be raised later
without invalidating secrets already issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCHEME = "scrypt"
_COST = 2**14
_BLOCK_SIZE = 8
_PARALLELISM = 1
_SALT_BYTES = 16
_KEY_BYTES = 32


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    derived = _derive(secret.encode(), salt, _COST, _BLOCK_SIZE, _PARALLELISM)
    return "$".join(
        (_SCHEME, str(_COST), str(_BLOCK_SIZE), str(_PARALLELISM), _b64(salt), _b64(derived))
    )


def secret_matches(secret: str, stored: str | None) -> bool:
    """True only when ``secret`` hashes to ``stored``; a missing or damaged hash never matches."""
    if stored is None:  # a client that authenticates with a key only
        return False
    try:
        scheme, cost, block_size, parallelism, salt, expected = stored.split("$")
        if scheme != _SCHEME:
            return False
        derived = _derive(
            secret.encode(), _unb64(salt), int(cost), int(block_size), int(parallelism)
        )
        return hmac.compare_digest(derived, _unb64(expected))
    except ValueError:
        # Unparseable parameters or base64 (binascii.Error is a ValueError): fail closed.
        return False


def _derive(secret: bytes, salt: bytes, cost: int, block_size: int, parallelism: int) -> bytes:
    return hashlib.scrypt(
        secret, salt=salt, n=cost, r=block_size, p=parallelism, dklen=_KEY_BYTES
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
