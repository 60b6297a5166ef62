"""Attacks from the network between the gateway and partners' receivers.

The adversaries: someone who can listen on the path of a plain-HTTP webhook; a receiver that
replays what it got to another partner's receiver; a receiver that answers with a redirect to
steer the gateway at an internal host. (A man in the middle with a certificate the gateway
does not trust is refused in ``tests/adapters``, for webhooks and SMTP alike.)
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.db import transaction
from gateway.keys import Keyring
from gateway.outbox.models import Dispatch, PartnerChannel
from gateway.outbox.services import ChannelDirectory
from gateway.problems import Problem
from gateway.settings import Settings
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body
from tests.local_ca import trusted_ca
from tests.outbox.conftest import public_pem
from tests.outbox.draining import drain_until_settled
from tests.outbox.receivers import WebhookReceiver


@pytest.fixture
def network_app(tmp_path: Path, connection: Connection, keyring: Keyring, clock: ManualClock
                ) -> Flask:
    settings = Settings(instance_path=tmp_path / "instance", outbox_max_attempts=1,
                        webhook_timeout_seconds=2.0, webhook_ca_bundle=trusted_ca().bundle)
    return create_app(settings, bind=connection, keyring=keyring, clock=clock)


@pytest.fixture
def receivers(keyring: Keyring) -> Iterator[list[WebhookReceiver]]:
    """Started on demand: ``receivers.append(...)`` is stopped at the end."""
    started: list[WebhookReceiver] = []
    yield started
    for receiver in started:
        receiver.stop()


class Eavesdropper:
    """A plain TCP listener: whatever a client sends it in the clear, it keeps."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.heard = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(0.5)
                with contextlib.suppress(TimeoutError):
                    self.heard += connection.recv(65536)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


def _channel(app: Flask, partner: str, webhook: str) -> None:
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        ChannelDirectory().set(session, partner, webhook_url=webhook, email=None,
                               known_partners=container.bundle.partner_ids(),
                               audit=container.audit)


def _exchange_identified(app: Flask) -> None:
    response = app.test_client().post(
        "/v1/exchanges", json=exchange_body(process_step="dossiervorming"),  # identified
        headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json


def _webhook_dispatches(app: Flask) -> list[Dispatch]:
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        return list(session.scalars(select(Dispatch).where(Dispatch.channel == "webhook")))


def test_a_plain_http_webhook_cannot_be_configured(network_app: Flask) -> None:
    with pytest.raises(Problem) as refused:
        _channel(network_app, RIEC, "http://hooks.riec.example/ketenpoort")

    assert [e.pointer for e in refused.value.errors] == ["/webhook"]


def test_a_plain_http_webhook_in_the_database_gets_no_byte_of_the_delivery(
    network_app: Flask, connection: Connection
) -> None:
    eavesdropper = Eavesdropper()
    try:
        # Written past the channel command, as an operator with database access could.
        with transaction(network_app.extensions["ketenpoort"].session_factory) as session:
            session.add(PartnerChannel(partner_id=RIEC, webhook_url=eavesdropper.url))
        _exchange_identified(network_app)

        drain_until_settled(network_app)

        assert eavesdropper.heard == b""
        [dispatch] = _webhook_dispatches(network_app)
        assert dispatch.state == "dead"
        assert "https" in (dispatch.last_error or "")
    finally:
        eavesdropper.stop()


def test_a_delivery_replayed_to_another_partner_does_not_verify(
    network_app: Flask, keyring: Keyring, receivers: list[WebhookReceiver]
) -> None:
    riec = WebhookReceiver(public_pem(keyring), partner=RIEC).start()
    politie = WebhookReceiver(public_pem(keyring), partner=POLITIE).start()
    riec_elsewhere = WebhookReceiver(public_pem(keyring), partner=RIEC).start()
    receivers.extend([riec, politie, riec_elsewhere])
    _channel(network_app, RIEC, riec.url)
    _exchange_identified(network_app)
    drain_until_settled(network_app)
    assert riec.last_request is not None
    headers, body = riec.last_request
    assert EVA["bsn"].encode() in body

    for victim in (politie, riec_elsewhere):  # another partner; the same one at another URL
        with pytest.raises(urllib.error.HTTPError) as answer:
            _replay(victim.url, headers, body)
        assert answer.value.code == 401
        assert (victim.rejected, victim.processed) == (1, {})


def _replay(url: str, headers: dict[str, str], body: bytes) -> None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310  # https to the test's own receiver
    context = ssl.create_default_context(cafile=trusted_ca().bundle)
    urllib.request.urlopen(request, timeout=5, context=context).close()  # noqa: S310  # as above


def test_a_redirect_is_not_followed_nor_taken_for_delivery(
    network_app: Flask, keyring: Keyring, receivers: list[WebhookReceiver]
) -> None:
    internal = WebhookReceiver(public_pem(keyring), partner=RIEC).start()
    steering = WebhookReceiver(public_pem(keyring), partner=RIEC, redirect_to=internal.url).start()
    receivers.extend([internal, steering])
    _channel(network_app, RIEC, steering.url)
    _exchange_identified(network_app)

    drain_until_settled(network_app)

    assert sum(steering.arrivals.values()) == 1
    assert internal.last_request is None
    [dispatch] = _webhook_dispatches(network_app)
    assert (dispatch.state, dispatch.last_error) == ("dead", "webhook answered 307")
