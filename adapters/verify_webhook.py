"""Receiver-side check of a Ketenpoort webhook: a receiver can copy this one file.

It defines the wire format (the gateway's sender imports it from here, so both sides agree)
and imports nothing from the gateway. Usage::

    delivery_id = verify(public_key_pem, headers, raw_body,   # raises InvalidWebhook
                         recipient="riec-rotterdam-rijnmond",  # who you are at the gateway
                         url="https://hooks.riec.example/ketenpoort")  # where it posts to you

After a key rotation the gateway signs with the new and the old key for an overlap window (the
header then lists ``ed25519=<new>, ed25519=<old>``): the delivery verifies when any of them
matches ``public_key_pem``, so install the new key within that window.

Then drop the request if ``delivery_id`` was processed before: the gateway delivers at least
once, and a retried delivery carries the same id.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_HEADER = "Ketenpoort-Signature"
TIMESTAMP_HEADER = "Ketenpoort-Timestamp"
DELIVERY_HEADER = "Ketenpoort-Delivery"
SIGNATURE_SCHEME = "ed25519"
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidWebhook(ValueError):
    """Not signed by the gateway, altered, or too old to accept."""


def verify(
    public_key_pem: bytes, headers: Mapping[str, str], body: bytes, *, recipient: str, url: str,
    now: float | None = None, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Return the delivery id of an authentic, fresh webhook meant for ``recipient`` at ``url``.

    ``recipient`` and ``url`` are the receiver's own partner id and webhook address, never
    taken from the request: a delivery signed for another partner, or for another address,
    does not verify, so one receiver cannot replay what it got to another.
    """
    folded = {k.lower(): v for k, v in headers.items()}
    try:
        delivery_id = folded[DELIVERY_HEADER.lower()]
        timestamp = folded[TIMESTAMP_HEADER.lower()]
        signatures = [part.strip().partition("=")
                      for part in folded[SIGNATURE_HEADER.lower()].split(",")]
    except KeyError as exc:
        raise InvalidWebhook(f"missing header {exc.args[0]}") from None
    for scheme, _, _ in signatures:
        if scheme != SIGNATURE_SCHEME:
            raise InvalidWebhook(f"unknown signature scheme {scheme!r}")
    _check_fresh(timestamp, time.time() if now is None else now, tolerance_seconds)
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidWebhook("the gateway's webhook key is Ed25519")
    signed = signed_bytes(timestamp, delivery_id, recipient, url, body)
    if not any(_signature_matches(key, encoded, signed) for _, _, encoded in signatures):
        raise InvalidWebhook("signature does not match")
    return delivery_id


def _signature_matches(key: Ed25519PublicKey, encoded: str, signed: bytes) -> bool:
    try:
        key.verify(base64.b64decode(encoded, validate=True), signed)
    except (InvalidSignature, binascii.Error):
        return False
    return True


def signed_bytes(timestamp: str, delivery_id: str, recipient: str, url: str, body: bytes
                 ) -> bytes:
    # The timestamp and delivery id are signed with the body, so neither can be swapped to
    # replay an old body as new or to dodge the receiver's de-duplication; the recipient and
    # the target URL, so a body cannot be replayed to another receiver. Lines: none of the
    # fields before the body can hold a line break, so the split is unambiguous.
    return b"\n".join((timestamp.encode(), delivery_id.encode(), recipient.encode(),
                        url.encode(), body))


def _check_fresh(timestamp: str, now: float, tolerance_seconds: int) -> None:
    if not timestamp.isdigit():
        raise InvalidWebhook("timestamp is not Unix seconds")
    if abs(now - int(timestamp)) > tolerance_seconds:
        raise InvalidWebhook("timestamp outside the accepted window")
