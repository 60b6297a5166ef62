"""Receiver-side check of a Ketenpoort webhook: a receiver can copy this one file.

Deliveries follow Standard Webhooks (https://www.standardwebhooks.com/): headers
``webhook-id`` (the delivery id, the same on every retry), ``webhook-timestamp`` (Unix seconds)
and ``webhook-signature``, which holds two signatures over ``<id>.<timestamp>.<body>``:

- ``v1,<base64 HMAC-SHA256>`` with the receiver's own secret (``whsec_...``, printed by
  ``ketenpoort channel webhook-secret --partner P``): any Standard Webhooks library verifies it;
- ``v1a,<base64 Ed25519>`` with the gateway's public key (``ketenpoort channel signing-key``):
  for receivers that want no shared secret.

The body is the envelope ``{"recipient": ..., "url": ..., "data": {...}}``: the partner id and
the address the gateway meant the delivery for are signed with it, so a delivery one receiver
got does not verify at another partner's receiver or at another of its URLs. This file defines
the wire format (the gateway's sender imports it from here, so both sides agree) and imports
nothing from the gateway. Usage::

    delivery_id = verify(headers, raw_body,                    # raises InvalidWebhook
                         recipient="riec-rotterdam-rijnmond",  # who you are at the gateway
                         url="https://hooks.riec.example/ketenpoort",  # where it posts to you
                         secret="whsec_...")                   # or public_key_pem=...

then drop the request if ``delivery_id`` was processed before: the gateway delivers at least
once, and a retried delivery carries the same id.

After a rotation of the gateway's key (``ketenpoort keys rotate --kind webhook``) deliveries
carry a ``v1a`` signature of the new and of the old key for an overlap window: the delivery
verifies when any of them matches ``public_key_pem``, so install the new key within that window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
HMAC_VERSION = "v1"
ED25519_VERSION = "v1a"
SECRET_PREFIX = "whsec_"  # noqa: S105  # the format's prefix, not a secret
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidWebhook(ValueError):
    """Not signed by the gateway, altered, too old, or meant for another receiver."""


def verify(
    headers: Mapping[str, str], body: bytes, *, recipient: str, url: str,
    secret: str | None = None, public_key_pem: bytes | None = None, now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Return the delivery id of an authentic, fresh webhook meant for ``recipient`` at ``url``.

    Give ``secret`` (the ``whsec_`` string) or ``public_key_pem``, or both: each given key's
    signature must be there and match. ``recipient`` and ``url`` are the receiver's own
    partner id and webhook address, never taken from the request.
    """
    if secret is None and public_key_pem is None:
        raise ValueError("give the receiver's secret or the gateway's public key")
    folded = {k.lower(): v for k, v in headers.items()}
    try:
        delivery_id = folded[ID_HEADER]
        timestamp = folded[TIMESTAMP_HEADER]
        signatures = _signatures(folded[SIGNATURE_HEADER])
    except KeyError as exc:
        raise InvalidWebhook(f"missing header {exc.args[0]}") from None
    _check_fresh(timestamp, time.time() if now is None else now, tolerance_seconds)
    content = signed_content(delivery_id, timestamp, body)
    if secret is not None and not any(
        hmac.compare_digest(candidate, hmac_signature(secret_bytes(secret), content))
        for candidate in signatures.get(HMAC_VERSION, [])
    ):
        raise InvalidWebhook("no v1 signature matches the secret")
    if public_key_pem is not None:
        _check_ed25519(public_key_pem, signatures.get(ED25519_VERSION, []), content)
    _check_addressed_to(body, recipient, url)
    return delivery_id


def signed_content(delivery_id: str, timestamp: str, body: bytes) -> bytes:
    """What both signatures cover, as Standard Webhooks defines it."""
    return f"{delivery_id}.{timestamp}.".encode() + body


def envelope(recipient: str, url: str, data: object) -> dict[str, object]:
    """The signed body: the delivery for ``recipient`` at ``url``."""
    return {"recipient": recipient, "url": url, "data": data}


def hmac_signature(secret: bytes, content: bytes) -> str:
    return base64.b64encode(hmac.new(secret, content, hashlib.sha256).digest()).decode()


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is 'whsec_' and base64") from None


def _signatures(header: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for versioned in header.split():
        version, _, signature = versioned.partition(",")
        found.setdefault(version, []).append(signature)
    return found


def _check_ed25519(public_key_pem: bytes, candidates: list[str], content: bytes) -> None:
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidWebhook("the gateway's webhook key is Ed25519")
    for candidate in candidates:
        try:
            key.verify(base64.b64decode(candidate, validate=True), content)
        except (InvalidSignature, binascii.Error):
            continue
        return
    raise InvalidWebhook("no v1a signature matches the gateway's key")


def _check_addressed_to(body: bytes, recipient: str, url: str) -> None:
    try:
        document = json.loads(body)
    except ValueError:
        raise InvalidWebhook("the body is not JSON") from None
    if not isinstance(document, dict) or (document.get("recipient"), document.get("url")) != (
        recipient, url
    ):
        raise InvalidWebhook("the delivery was meant for another receiver or address")


def _check_fresh(timestamp: str, now: float, tolerance_seconds: int) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise InvalidWebhook("timestamp is not Unix seconds")
    if abs(now - int(timestamp)) > tolerance_seconds:
        raise InvalidWebhook("timestamp outside the accepted window")
