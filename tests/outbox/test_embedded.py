"""Embedded mode: the gateway drains its own outbox in a background thread, no broker."""

from __future__ import annotations

import json
import time
from pathlib import Path

from audit.log import AuditLog
from gateway.app import create_app
from gateway.background.start import start_serving
from gateway.container import Container
from gateway.db import session_now, transaction
from gateway.instance import initialise
from gateway.keys import Keyring
from gateway.outbox.services import ChannelDirectory
from gateway.settings import Settings
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body
from tests.local_ca import trusted_ca
from tests.outbox.receivers import WebhookReceiver


def test_a_committed_exchange_is_pushed_by_the_gateway_itself(
    tmp_path: Path, keyring: Keyring, webhook_receiver: WebhookReceiver
) -> None:
    settings = Settings(instance_path=tmp_path / "instance", run_background_workers=True,
                        run_sequencer_in_process=False, outbox_sweep_seconds=30,
                        webhook_ca_bundle=trusted_ca().bundle)
    keyring.save(settings.keyring_path)
    instance = initialise(settings)
    with transaction(instance.session_factory) as session:
        ChannelDirectory().set(session, RIEC, webhook_url=webhook_receiver.url, email=None,
                               known_partners=instance.known_partners,
                               audit=AuditLog(lambda: session_now(session)))
    app = create_app(settings)
    container: Container = app.extensions["ketenpoort"]
    start_serving(container)
    try:
        response = app.test_client().post("/v1/exchanges", json=exchange_body(),
                                          headers=bearer(app, VLAARDINGEN))
        assert response.status_code == 201
        # The commit wakes the drainer; its 30-second poll would be far too late otherwise.
        deadline = time.monotonic() + 10
        while not webhook_receiver.processed and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert container.outbox_drainer is not None
        container.outbox_drainer.stop()

    [body] = [json.loads(b) for b in webhook_receiver.bodies.values()]
    assert body["exchange_id"] == response.json["id"]


def test_creating_the_app_starts_no_background_work(tmp_path: Path, keyring: Keyring) -> None:
    settings = Settings(instance_path=tmp_path / "instance")
    keyring.save(settings.keyring_path)
    initialise(settings)

    container: Container = create_app(settings).extensions["ketenpoort"]

    assert container.outbox_drainer is not None
    assert not container.outbox_drainer.running
