"""Webhook channel: an HTTPS POST signed per Standard Webhooks (see ``verify_webhook``).

The body is the envelope naming the recipient and the URL around the message's JSON; headers
``webhook-id`` (the stable delivery id), ``webhook-timestamp`` and ``webhook-signature`` with
an HMAC-SHA256 under the recipient's own secret (``v1``) and an Ed25519 signature under the
gateway's key (``v1a``); after a key rotation, for the overlap window, the old key's ``v1a``
signature follows the new one, so a receiver holding either key accepts. Any 2xx is success;
anything else, or no answer, is a :class:`ChannelError` so the dispatcher retries.

Against a hostile network: ``https://`` only, with the certificate verified against the system
trust store or a configured CA bundle; redirects are never followed (a 3xx is a failed
attempt, so a receiver cannot steer the gateway to another host); and the target's host must
be on the recipient's egress allow-list when one is configured.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.interfaces import ChannelError, OutboundMessage
from adapters.verify_webhook import (
    ED25519_VERSION,
    HMAC_VERSION,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    envelope,
    hmac_signature,
    signed_content,
)

TRACEPARENT_HEADER = "traceparent"  # W3C Trace Context

#: partner id -> the hosts (``host`` or ``host:port``) its webhooks may be posted to.
EgressAllowList = Mapping[str, frozenset[str]]


def webhook_address_problem(address: str, recipient: str, egress: EgressAllowList) -> str | None:
    """Why ``address`` may not receive ``recipient``'s webhooks, or None when it may.

    An empty ``egress`` means no allow-list is configured: any ``https://`` host may. Once one
    is, a partner without an entry may receive no webhooks at all.
    """
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        return "not a URL"
    if parts.scheme != "https" or not parts.hostname:
        return "webhooks are sent over https:// only"
    if parts.username or parts.password:
        return "a webhook URL carries no credentials"
    if egress:
        host = parts.hostname.lower()
        allowed = egress.get(recipient, frozenset())
        if host not in allowed and f"{host}:{port or 443}" not in allowed:
            return f"host {host} is not on {recipient}'s egress allow-list"
    return None


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_redirect: Any) -> None:
        # None makes urllib raise HTTPError for the 3xx: a failed attempt, recorded as such.
        return None


@dataclass
class WebhookChannel:
    """``signing_key`` is None when the keyring predates webhook signing: sends then fail.

    ``secrets`` gives each recipient's own HMAC key. ``ca_bundle``: a PEM file of the CAs to
    trust instead of the system store (a private CA). ``previous_keys``: keys a rotation
    replaced, each with the Unix time its overlap ends; until then each adds its own ``v1a``
    signature to every delivery.
    """

    signing_key: Ed25519PrivateKey | None
    secrets: Callable[[str], bytes]
    timeout_seconds: float = 10.0
    clock: Callable[[], float] = field(default=time.time)
    ca_bundle: str | None = None
    egress: EgressAllowList = field(default_factory=dict)
    name: str = "webhook"
    previous_keys: Sequence[tuple[Ed25519PrivateKey, float]] = ()

    def __post_init__(self) -> None:
        context = ssl.create_default_context(cafile=self.ca_bundle or None)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _RefuseRedirects())

    def send(self, message: OutboundMessage) -> None:
        if self.signing_key is None:
            raise ChannelError("the keyring has no 'webhook-signing' key; run 'ketenpoort init'")
        problem = webhook_address_problem(message.address, message.recipient, self.egress)
        if problem is not None:
            raise ChannelError(f"not sent: {problem}")
        body = json.dumps(envelope(message.recipient, message.address, message.body),
                          separators=(",", ":"), ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310  # https only, checked just above
            message.address, data=body, method="POST", headers=self._headers(message, body)
        )
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"webhook answered {exc.code}") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise ChannelError(f"webhook unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise ChannelError(f"webhook answered {status}")

    def _headers(self, message: OutboundMessage, body: bytes) -> dict[str, str]:
        assert self.signing_key is not None  # noqa: S101  # send() checked it; narrows the type
        now = self.clock()
        timestamp = str(int(now))
        content = signed_content(message.delivery_id, timestamp, body)
        shared = hmac_signature(self.secrets(message.recipient), content)
        keys = [self.signing_key, *(key for key, until in self.previous_keys if now < until)]
        public = [f"{ED25519_VERSION},{base64.b64encode(key.sign(content)).decode()}"
                  for key in keys]
        trace = {} if message.traceparent is None else {TRACEPARENT_HEADER: message.traceparent}
        return {
            **trace,
            "Content-Type": "application/json",
            ID_HEADER: message.delivery_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: " ".join((f"{HMAC_VERSION},{shared}", *public)),
        }
