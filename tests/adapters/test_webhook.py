"""The signed webhook channel against a real local receiver, and the receiver-side verifier.

Deliveries are Standard Webhooks: the reference library (``standardwebhooks``) verifies them
with the partner's secret, and the binding to recipient and URL travels in the signed body.
"""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import adapters.verify_webhook
from adapters.interfaces import ChannelError, OutboundMessage
from adapters.verify_webhook import InvalidWebhook, verify
from adapters.webhook import WebhookChannel, webhook_address_problem
from gateway.keys import Keyring
from gateway.outbox.interfaces import WEBHOOK_SIGNING_KEY
from gateway.outbox.services import WebhookSecrets
from tests.conftest import TEST_MORNING
from tests.factories import RIEC
from tests.local_ca import trusted_ca, untrusted_ca
from tests.outbox.conftest import public_pem
from tests.outbox.receivers import WebhookReceiver, free_port


def _message(address: str, delivery_id: str = "d-1") -> OutboundMessage:
    return OutboundMessage(delivery_id=delivery_id, recipient=RIEC, address=address,
                           subject="s", body={"id": delivery_id, "items": ["één"]})


def _channel(keyring: Keyring) -> WebhookChannel:
    return WebhookChannel(keyring.signing_key(WEBHOOK_SIGNING_KEY), WebhookSecrets(keyring),
                          timeout_seconds=2, ca_bundle=trusted_ca().bundle)


def _verify(receiver: WebhookReceiver, headers: dict[str, str], body: bytes, **options: Any
            ) -> str:
    keys: dict[str, Any] = {"public_key_pem": receiver.public_key_pem, "secret": receiver.secret}
    return verify(headers, body, recipient=RIEC, url=receiver.url, **(keys | options))


def _sent(keyring: Keyring, receiver: WebhookReceiver) -> tuple[dict[str, str], bytes]:
    """The headers (names in lower case, as Standard Webhooks spells them) and the body."""
    _channel(keyring).send(_message(receiver.url))
    assert receiver.last_request is not None
    headers, body = receiver.last_request
    return {name.lower(): value for name, value in headers.items()}, body


def test_the_receiver_verifies_what_the_gateway_signed(
    keyring: Keyring, webhook_receiver: WebhookReceiver
) -> None:
    headers, body = _sent(keyring, webhook_receiver)

    assert _verify(webhook_receiver, headers, body) == "d-1"
    assert webhook_receiver.processed == {"d-1": 1}
    assert json.loads(body) == {"recipient": RIEC, "url": webhook_receiver.url,
                                "data": {"id": "d-1", "items": ["één"]}}


def test_the_reference_verifier_accepts_the_delivery_with_the_partners_secret(
    keyring: Keyring, webhook_receiver: WebhookReceiver
) -> None:
    headers, body = _sent(keyring, webhook_receiver)

    verified = Webhook(WebhookSecrets(keyring).shown(RIEC)).verify(body, headers)

    assert verified["data"] == {"id": "d-1", "items": ["één"]}
    assert headers["webhook-id"] == "d-1"
    with pytest.raises(WebhookVerificationError):
        Webhook(WebhookSecrets(keyring).shown("politie-rotterdam")).verify(body, headers)


@pytest.mark.parametrize("key", ["secret", "public_key_pem"])
def test_either_key_alone_verifies(
    keyring: Keyring, webhook_receiver: WebhookReceiver, key: str
) -> None:
    headers, body = _sent(keyring, webhook_receiver)
    other = "public_key_pem" if key == "secret" else "secret"

    assert _verify(webhook_receiver, headers, body, **{other: None}) == "d-1"


@pytest.mark.parametrize(("recipient", "url"), [
    ("politie-rotterdam", None), (RIEC, "https://127.0.0.1:1/other-hook")])
def test_a_delivery_meant_for_another_receiver_or_address_is_refused(
    keyring: Keyring, webhook_receiver: WebhookReceiver, recipient: str, url: str | None
) -> None:
    """The Ed25519 signature is the gateway's, the same for every receiver: the envelope's
    recipient and URL are what keep one receiver from replaying a delivery to another."""
    headers, body = _sent(keyring, webhook_receiver)

    with pytest.raises(InvalidWebhook, match="another receiver"):
        verify(headers, body, recipient=recipient, url=url or webhook_receiver.url,
               public_key_pem=webhook_receiver.public_key_pem)


@pytest.mark.parametrize("tamper", ["body", "delivery", "timestamp", "signature"])
def test_any_change_breaks_the_signature(
    keyring: Keyring, webhook_receiver: WebhookReceiver, tamper: str
) -> None:
    headers, body = _sent(keyring, webhook_receiver)
    headers = dict(headers)
    if tamper == "body":
        body = body.replace(b"d-1", b"d-2")
    elif tamper == "delivery":
        headers["webhook-id"] = "d-2"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        headers["webhook-signature"] = "v1,AAAA v1a,AAAA"

    for key in ("secret", "public_key_pem"):  # each signature breaks on its own
        with pytest.raises(InvalidWebhook):
            _verify(webhook_receiver, headers, body, **{key: None})


def test_a_stale_or_foreign_webhook_is_refused(
    keyring: Keyring, webhook_receiver: WebhookReceiver
) -> None:
    headers, body = _sent(keyring, webhook_receiver)
    foreign = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    with pytest.raises(InvalidWebhook, match="window"):
        _verify(webhook_receiver, headers, body, now=time.time() + 3600)
    with pytest.raises(InvalidWebhook, match="signature"):
        verify(headers, body, recipient=RIEC, url=webhook_receiver.url, public_key_pem=foreign)
    with pytest.raises(InvalidWebhook, match="signature"):
        verify(headers, body, recipient=RIEC, url=webhook_receiver.url,
               secret=WebhookSecrets(Keyring.generate()).shown(RIEC))
    with pytest.raises(InvalidWebhook, match="missing"):
        _verify(webhook_receiver, {}, body)


def test_the_verifier_imports_nothing_from_the_gateway() -> None:
    tree = ast.parse(Path(adapters.verify_webhook.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}

    assert imported
    assert not {m for m in imported if m.split(".")[0] in ("gateway", "adapters", "audit")}


@pytest.mark.parametrize("status", [400, 500, 503])
def test_a_refusing_receiver_is_a_channel_error(
    keyring: Keyring, webhook_receiver: WebhookReceiver, status: int
) -> None:
    webhook_receiver.status = status

    with pytest.raises(ChannelError, match=str(status)):
        _channel(keyring).send(_message(webhook_receiver.url))


def test_an_unreachable_receiver_is_a_channel_error(keyring: Keyring) -> None:
    with pytest.raises(ChannelError, match="unreachable"):
        _channel(keyring).send(_message(f"https://127.0.0.1:{free_port()}/hook"))


def test_without_a_signing_key_nothing_is_sent(webhook_receiver: WebhookReceiver) -> None:
    with pytest.raises(ChannelError, match="webhook-signing"):
        WebhookChannel(None, WebhookSecrets(Keyring.generate())).send(
            _message(webhook_receiver.url))

    assert webhook_receiver.last_request is None


@pytest.mark.parametrize("address", ["file:///etc/passwd", "ftp://127.0.0.1/hook",
                                     "https://user:pw@127.0.0.1/hook", "https:///hook"])
def test_only_https_addresses_are_posted_to(keyring: Keyring, address: str) -> None:
    with pytest.raises(ChannelError, match="not sent"):
        _channel(keyring).send(_message(address))


def test_a_certificate_the_gateway_does_not_trust_fails_before_the_body_is_sent(
    keyring: Keyring
) -> None:
    impostor = WebhookReceiver(public_pem(keyring), ca=untrusted_ca()).start()
    try:
        with pytest.raises(ChannelError, match="CERTIFICATE_VERIFY_FAILED"):
            _channel(keyring).send(_message(impostor.url))
        assert impostor.last_request is None
    finally:
        impostor.stop()


def test_a_private_ca_is_trusted_only_when_configured(
    keyring: Keyring, webhook_receiver: WebhookReceiver
) -> None:
    system_store_only = WebhookChannel(keyring.signing_key(WEBHOOK_SIGNING_KEY),
                                       WebhookSecrets(keyring), timeout_seconds=2)

    with pytest.raises(ChannelError, match="CERTIFICATE_VERIFY_FAILED"):
        system_store_only.send(_message(webhook_receiver.url))


@pytest.mark.parametrize(("egress", "sent"), [
    ({RIEC: frozenset({"127.0.0.1"})}, True),
    ({"politie-rotterdam": frozenset({"127.0.0.1"})}, False),
    ({RIEC: frozenset({"hooks.riec.example"})}, False),
])
def test_the_egress_allow_list_names_each_partners_hosts(
    keyring: Keyring, webhook_receiver: WebhookReceiver, egress: dict[str, frozenset[str]],
    sent: bool,
) -> None:
    channel = WebhookChannel(keyring.signing_key(WEBHOOK_SIGNING_KEY), WebhookSecrets(keyring),
                             timeout_seconds=2, ca_bundle=trusted_ca().bundle, egress=egress)

    if sent:
        channel.send(_message(webhook_receiver.url))
    else:
        with pytest.raises(ChannelError, match="egress allow-list"):
            channel.send(_message(webhook_receiver.url))
    assert (webhook_receiver.last_request is not None) == sent


def test_an_allow_list_entry_with_a_port_allows_that_port_only() -> None:
    allowed = {RIEC: frozenset({"hooks.riec.example:8443"})}

    assert webhook_address_problem("https://hooks.riec.example:8443/h", RIEC, allowed) is None
    assert webhook_address_problem("https://hooks.riec.example/h", RIEC, allowed) is not None


def _folded(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_during_the_overlap_receivers_with_the_old_or_the_new_key_both_accept(
    keyring: Keyring, webhook_receiver: WebhookReceiver
) -> None:
    rotated = Keyring.from_json(keyring.to_json())
    old_key = rotated.signing_key(WEBHOOK_SIGNING_KEY)
    new_key = rotated.rotate_signing(WEBHOOK_SIGNING_KEY, TEST_MORNING, keep_private=True)
    now = [time.time()]
    channel = WebhookChannel(new_key, WebhookSecrets(rotated), timeout_seconds=2,
                             ca_bundle=trusted_ca().bundle, clock=lambda: now[0],
                             previous_keys=[(old_key, now[0] + 3600)])

    channel.send(_message(webhook_receiver.url))  # the receiver still holds the old key
    assert webhook_receiver.processed == {"d-1": 1}
    assert webhook_receiver.last_request is not None
    headers, body = webhook_receiver.last_request
    assert _folded(headers)["webhook-signature"].count("v1a,") == 2
    assert verify(headers, body, recipient=RIEC, url=webhook_receiver.url,
                  public_key_pem=public_pem(rotated)) == "d-1"

    now[0] += 3600  # the overlap has ended: only the new key signs
    with pytest.raises(ChannelError, match="401"):
        channel.send(_message(webhook_receiver.url, "d-2"))
    headers, body = webhook_receiver.last_request
    assert _folded(headers)["webhook-signature"].count("v1a,") == 1
    assert verify(headers, body, recipient=RIEC, url=webhook_receiver.url, now=now[0],
                  public_key_pem=public_pem(rotated)) == "d-2"
