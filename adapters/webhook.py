"""Webhook channel: an HTTP POST of the JSON body, signed by the gateway with Ed25519.

Headers: ``Ketenpoort-Delivery`` (the stable delivery id), ``Ketenpoort-Timestamp`` (Unix
seconds) and ``Ketenpoort-Signature: ed25519=<base64 signature>`` over
``timestamp.delivery_id.body``. Any 2xx is success; anything else, or no answer, is a
:class:`ChannelError` so the dispatcher retries with backoff.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.interfaces import ChannelError, OutboundMessage
from adapters.verify_webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_SCHEME,
    TIMESTAMP_HEADER,
    signed_bytes,
)


@dataclass
class WebhookChannel:
    """``signing_key`` is None when the keyring predates webhook signing: sends then fail."""

    signing_key: Ed25519PrivateKey | None
    timeout_seconds: float = 10.0
    clock: Callable[[], float] = field(default=time.time)
    name: str = "webhook"

    def send(self, message: OutboundMessage) -> None:
        if self.signing_key is None:
            raise ChannelError("the keyring has no 'webhook-signing' key; run 'ketenpoort init'")
        if not message.address.startswith(("https://", "http://")):
            raise ChannelError(f"not an HTTP(S) webhook address: {message.address!r}")
        body = json.dumps(message.body, separators=(",", ":"), ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310  # the scheme is checked just above
            message.address, data=body, method="POST", headers=self._headers(message, body)
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310  # scheme checked above
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"webhook answered {exc.code}") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise ChannelError(f"webhook unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise ChannelError(f"webhook answered {status}")

    def _headers(self, message: OutboundMessage, body: bytes) -> dict[str, str]:
        assert self.signing_key is not None  # noqa: S101  # send() checked it; narrows the type
        timestamp = str(int(self.clock()))
        signature = self.signing_key.sign(signed_bytes(timestamp, message.delivery_id, body))
        return {
            "Content-Type": "application/json",
            DELIVERY_HEADER: message.delivery_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: f"{SIGNATURE_SCHEME}={base64.b64encode(signature).decode()}",
        }
