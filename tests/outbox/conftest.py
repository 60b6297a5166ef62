"""Receivers and an outbox wired to them, for the in-process and the Celery tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.keys import Keyring
from gateway.outbox.interfaces import WEBHOOK_SIGNING_KEY
from gateway.outbox.services import WebhookSecrets
from gateway.settings import Settings
from tests.factories import RIEC
from tests.local_ca import trusted_ca
from tests.outbox.receivers import SmtpServer, WebhookReceiver


def public_pem(keyring: Keyring) -> bytes:
    return keyring.signing_key(WEBHOOK_SIGNING_KEY).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def webhook_receiver(keyring: Keyring) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(public_pem(keyring), secret=WebhookSecrets(keyring).shown(RIEC)
                               ).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, smtp_server: SmtpServer) -> Settings:
    """Fast retries, and e-mail to the local SMTP server; no background thread."""
    return Settings(
        instance_path=tmp_path / "instance", smtp_host="127.0.0.1", smtp_port=smtp_server.port,
        outbox_max_attempts=3, outbox_backoff_seconds=0.01, outbox_max_backoff_seconds=0.05,
        outbox_lease_seconds=5.0, webhook_timeout_seconds=2.0,
        webhook_ca_bundle=trusted_ca().bundle, smtp_ca_bundle=trusted_ca().bundle,
    )
