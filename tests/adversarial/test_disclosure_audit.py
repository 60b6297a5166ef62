"""Attacks on the disclosure log: no identity leaves the gateway without an entry first.

The adversary is a partner's receiver that answers 500 to every webhook: it reads the body
(the BSN included) each time, and hopes the gateway logs a disclosure only on a 2xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from audit.models import AuditEntry
from gateway.app import create_app
from gateway.db import transaction
from gateway.keys import Keyring
from gateway.outbox.interfaces import WEBHOOK_SIGNING_KEY
from gateway.outbox.services import ChannelDirectory
from gateway.settings import Settings
from tests.factories import EVA, RIEC, VLAARDINGEN, bearer, exchange_body
from tests.local_ca import trusted_ca
from tests.outbox.draining import drain_until_settled
from tests.outbox.receivers import WebhookReceiver

ATTEMPTS = 3


@pytest.fixture
def shred_failing_receiver(keyring: Keyring) -> Iterator[WebhookReceiver]:
    public_key = keyring.signing_key(WEBHOOK_SIGNING_KEY).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    receiver = WebhookReceiver(public_key, status=500).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def shred_fast_retry_app(tmp_path: Path, connection: Connection, keyring: Keyring) -> Flask:
    settings = Settings(instance_path=tmp_path / "instance", outbox_max_attempts=ATTEMPTS,
                        outbox_backoff_seconds=0.01, outbox_max_backoff_seconds=0.02,
                        webhook_timeout_seconds=2.0, webhook_ca_bundle=trusted_ca().bundle)
    return create_app(settings, bind=connection, keyring=keyring)


def _entries(app: Flask) -> list[dict[str, Any]]:
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        return [json.loads(e) for e in session.scalars(select(AuditEntry.entry)
                                                       .order_by(AuditEntry.id))]


def test_a_receiver_answering_500_gets_no_bsn_that_is_not_on_the_log(
    shred_fast_retry_app: Flask, shred_failing_receiver: WebhookReceiver,
) -> None:
    app = shred_fast_retry_app
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        ChannelDirectory().set(session, RIEC, webhook_url=shred_failing_receiver.url,
                               email=None, known_partners=container.bundle.partner_ids(),
                               audit=container.audit)
    response = app.test_client().post(
        "/v1/exchanges", json=exchange_body(process_step="dossiervorming"),  # identified
        headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json

    drain_until_settled(app)

    [(delivery_id, arrivals)] = shred_failing_receiver.arrivals.items()
    assert arrivals == ATTEMPTS
    assert shred_failing_receiver.last_request is not None
    assert EVA["bsn"].encode() in shred_failing_receiver.last_request[1]  # the receiver read it
    entries = _entries(app)
    eva = container.vault.audit_pseudonym_for(EVA)
    disclosures = [e for e in entries if e["action"] == "outbox.disclosing"
                   and e["delivery_id"] == delivery_id]
    assert [(d["attempt"], d["identities_disclosed"]) for d in disclosures] == [
        (attempt, [eva]) for attempt in range(1, ATTEMPTS + 1)]
    # Each outcome follows its disclosure and points back at it.
    failures = [e for e in entries if e["action"] == "outbox.attempt-failed"]
    positions = {id(e): i for i, e in enumerate(entries)}
    assert len(failures) == ATTEMPTS
    assert len({f["disclosure_event_id"] for f in failures}) == ATTEMPTS
    for disclosure, failure in zip(disclosures, failures, strict=True):
        assert positions[id(disclosure)] < positions[id(failure)]
