"""The outbox in the gateway process: written with the action, drained to every channel once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.interfaces import OutboundMessage
from audit.models import AuditEntry
from gateway.container import Container
from gateway.db import transaction
from gateway.identity.envelope import ContentSealer
from gateway.keys import Keyring
from gateway.outbox.dispatcher import Dispatcher
from gateway.outbox.models import Dispatch, OutboxMessage
from gateway.outbox.services import ChannelDirectory, Outbox, OutboxError
from tests.factories import EVA, RIEC, VLAARDINGEN, bearer, exchange_body
from tests.outbox.draining import drain_until_settled
from tests.outbox.receivers import SmtpServer, WebhookReceiver


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, message_ids: Sequence[str]) -> None:
        self.published.extend(message_ids)


def _container(app: Flask) -> Container:
    container: Container = app.extensions["ketenpoort"]
    return container


def _notice(outbox: Outbox, session: Session, key: str = "k1") -> str:
    return outbox.enqueue(session, kind="test.notice", recipient=RIEC,
                          payload={"title": "agenda", "items": [1, 2]}, idempotency_key=key)


def _connect(app: Flask, webhook: str | None = None, email: str | None = None) -> None:
    container = _container(app)
    with transaction(container.session_factory) as session:
        ChannelDirectory().set(session, RIEC, webhook_url=webhook, email=email,
                               known_partners=container.bundle.partner_ids(),
                               audit=container.audit)


def _send(app: Flask, http: FlaskClient, **overrides: Any) -> None:
    response = http.post("/v1/exchanges", json=exchange_body(**overrides),
                         headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json


def _messages(app: Flask, state: str | None = None) -> list[dict[str, Any]]:
    container = _container(app)
    with transaction(container.session_factory) as session:
        return container.outbox.list(session, state)


def _audited(app: Flask, action: str) -> list[dict[str, Any]]:
    with transaction(_container(app).session_factory) as session:
        entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    return [e for e in entries if e["action"] == action]


def test_enqueue_writes_in_the_callers_transaction_and_never_commits(
    gateway_app: Flask
) -> None:
    container = _container(gateway_app)
    session = container.session_factory()
    _notice(container.outbox, session)
    session.rollback()
    session.close()

    assert _messages(gateway_app) == []


def test_a_repeated_idempotency_key_returns_the_first_id_and_writes_nothing(
    gateway_app: Flask
) -> None:
    container = _container(gateway_app)
    with transaction(container.session_factory) as session:
        first = _notice(container.outbox, session)
    with transaction(container.session_factory) as session:
        again = _notice(container.outbox, session)
        count = session.scalar(select(func.count()).select_from(OutboxMessage))

    assert again == first
    assert count == 1


def test_the_publisher_hears_of_committed_rows_only(gateway_app: Flask) -> None:
    publisher = RecordingPublisher()
    outbox = Outbox(publisher, ContentSealer(_container(gateway_app).keyring))
    factory = _container(gateway_app).session_factory
    session = factory()
    _notice(outbox, session, "rolled-back")
    session.rollback()
    session.close()
    with transaction(factory) as session:
        committed = _notice(outbox, session, "committed")

    assert publisher.published == [committed]


@pytest.mark.parametrize("payload", [{"bsn": "111222333"},
                                     {"subjects": [{"family_name": "Jansen"}]}])
def test_plaintext_identity_is_never_queued(gateway_app: Flask, payload: dict[str, Any]) -> None:
    with pytest.raises(OutboxError, match="plaintext identity"), \
            transaction(_container(gateway_app).session_factory) as session:
        _container(gateway_app).outbox.enqueue(session, kind="x", recipient=RIEC,
                                               payload=payload, idempotency_key="k")


def test_an_exchange_queues_its_delivery_by_id_only(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http)

    [message] = _messages(gateway_app, "pending")
    with transaction(_container(gateway_app).session_factory) as session:
        stored = session.get_one(OutboxMessage, message["id"])
        opened = ContentSealer(_container(gateway_app).keyring).open(stored.payload, stored.id)
        assert list(opened) == ["delivery_id"]
    assert (message["kind"], message["recipient"]) == ("exchange.delivery", RIEC)


def test_each_channel_receives_exactly_one_copy(
    gateway_app: Flask, http: FlaskClient, webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
) -> None:
    _connect(gateway_app, webhook=webhook_receiver.url, email="riec@example.test")
    _send(gateway_app, http)

    drain_until_settled(gateway_app)
    _container(gateway_app).outbox_drainer.drain_once()  # type: ignore[union-attr]

    [message] = _messages(gateway_app, "delivered")
    ids = {c["channel"]: c["delivery_id"] for c in message["channels"]}
    assert set(ids) == {"inbox", "webhook", "email"}
    assert webhook_receiver.arrivals == {ids["webhook"]: 1}
    assert smtp_server.message_ids() == {f"<{ids['email']}@ketenpoort>": 1}
    assert len(_audited(gateway_app, "outbox.delivered")) == 2


def test_identifiers_reach_only_the_webhook_and_only_when_identified(
    gateway_app: Flask, http: FlaskClient, webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
) -> None:
    _connect(gateway_app, webhook=webhook_receiver.url, email="riec@example.test")
    _send(gateway_app, http, process_step="dossiervorming")  # identified for the RIEC
    _send(gateway_app, http)  # detectie: pseudonymised

    drain_until_settled(gateway_app)

    hooks = [json.loads(b) for b in webhook_receiver.bodies.values()]
    by_identity = {h["identity"]: h["subjects"][0] for h in hooks}
    assert by_identity["identified"]["identifiers"] == EVA
    assert "identifiers" not in by_identity["pseudonym"]
    assert all(s["pseudonym"] for s in by_identity.values())
    mails = [m.get_content() for m in smtp_server.messages]
    assert len(mails) == 2
    assert not any(EVA["bsn"] in m or EVA["family_name"] in m for m in mails)
    [disclosure] = [e for e in _audited(gateway_app, "outbox.delivered")
                    if e["identities_disclosed"]]
    assert disclosure["channel"] == "webhook"


def test_a_failing_webhook_ends_dead_visibly_and_a_retry_revives_it(
    gateway_app: Flask, http: FlaskClient, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.status = 503
    _connect(gateway_app, webhook=webhook_receiver.url)
    _send(gateway_app, http)

    drain_until_settled(gateway_app)

    [dead] = _messages(gateway_app, "dead")
    webhook = next(c for c in dead["channels"] if c["channel"] == "webhook")
    assert (webhook["state"], webhook["attempts"]) == ("dead", 3)
    assert "503" in webhook["last_error"]
    assert sum(webhook_receiver.arrivals.values()) == 3
    assert len(_audited(gateway_app, "outbox.dead-lettered")) == 1

    webhook_receiver.status = 204
    container = _container(gateway_app)
    with transaction(container.session_factory) as session:
        container.outbox.retry(session, dead["id"], container.audit)
    drain_until_settled(gateway_app)

    assert [m["id"] for m in _messages(gateway_app, "delivered")] == [dead["id"]]
    assert webhook_receiver.processed == {webhook["delivery_id"]: 1}
    assert len(_audited(gateway_app, "outbox.retried")) == 1


class ReentrantChannel:
    """A channel that, mid-send, lets a second drainer try the same message."""

    name = "webhook"

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.sent: list[str] = []
        self.second_drainer_saw: datetime | None = None

    def send(self, message: OutboundMessage) -> None:
        self.sent.append(message.delivery_id)
        if len(self.sent) == 1:
            with transaction(self.dispatcher.session_factory) as session:
                message_id = session.get_one(Dispatch, message.delivery_id).message_id
            self.second_drainer_saw = self.dispatcher.dispatch(message_id)


def test_a_second_drainer_never_sends_a_copy_in_flight(gateway_app: Flask) -> None:
    container = _container(gateway_app)
    _connect(gateway_app, webhook="https://riec.example/hook")
    channel = ReentrantChannel(container.outbox_dispatcher)
    dispatcher = replace(container.outbox_dispatcher, channels={"webhook": channel})
    channel.dispatcher = dispatcher
    with transaction(container.session_factory) as session:
        message_id = _notice(container.outbox, session)

    assert dispatcher.dispatch(message_id) is None

    assert len(channel.sent) == 1
    assert channel.second_drainer_saw is not None  # it was told to come back after the lease
    [message] = _messages(gateway_app, "delivered")
    assert message["id"] == message_id


def test_a_message_finished_but_not_settled_is_settled_by_the_next_drain(
    gateway_app: Flask
) -> None:
    container = _container(gateway_app)
    with transaction(container.session_factory) as session:
        message_id = _notice(container.outbox, session)
    container.outbox_dispatcher.dispatch(message_id)
    with transaction(container.session_factory) as session:
        session.get_one(OutboxMessage, message_id).state = "pending"  # died before settling

    assert container.outbox_drainer.drain_once() == 1  # type: ignore[union-attr]
    assert [m["id"] for m in _messages(gateway_app, "delivered")] == [message_id]


def test_a_new_key_is_queued_and_announced_after_commit(
    session: Session, keyring: Keyring
) -> None:
    publisher = RecordingPublisher()
    outbox = Outbox(publisher, ContentSealer(keyring))

    message_id = outbox.enqueue(session, kind="test.notice", recipient=RIEC,
                                payload={"title": "agenda"}, idempotency_key="fresh-1")
    assert publisher.published == []
    session.commit()

    assert publisher.published == [message_id]
    assert session.get(OutboxMessage, message_id) is not None


def test_a_key_repeated_in_one_transaction_is_queued_and_announced_once(
    session: Session, keyring: Keyring,
) -> None:
    publisher = RecordingPublisher()
    outbox = Outbox(publisher, ContentSealer(keyring))

    first = _notice(outbox, session, key="twice")
    again = _notice(outbox, session, key="twice")
    session.commit()

    assert again == first
    assert publisher.published == [first]


def test_an_inbox_only_message_is_settled_when_fanned_out_without_a_lease(
    gateway_app: Flask
) -> None:
    container = _container(gateway_app)
    with transaction(container.session_factory) as session:
        message_id = _notice(container.outbox, session)

    assert container.outbox_dispatcher.dispatch(message_id) is None

    with transaction(container.session_factory) as session:
        [dispatch] = session.scalars(select(Dispatch).where(Dispatch.message_id == message_id))
        assert (dispatch.channel, dispatch.state, dispatch.attempts) == ("inbox", "delivered", 1)
        assert dispatch.lease_until is None
        assert dispatch.delivered_at is not None
    assert [m["id"] for m in _messages(gateway_app, "delivered")] == [message_id]


def test_a_message_with_a_push_channel_leaves_only_that_channel_pending(
    gateway_app: Flask
) -> None:
    container = _container(gateway_app)
    _connect(gateway_app, webhook="https://riec.example/hook")
    failing = replace(container.outbox_dispatcher, channels={})  # no webhook adapter: it fails
    with transaction(container.session_factory) as session:
        message_id = _notice(container.outbox, session)

    assert failing.dispatch(message_id) is not None  # a retry of the webhook is due later

    with transaction(container.session_factory) as session:
        rows = session.execute(select(Dispatch.channel, Dispatch.state)
                               .where(Dispatch.message_id == message_id)).all()
        states = {row.channel: row.state for row in rows}
    assert states == {"inbox": "delivered", "webhook": "pending"}
    assert [m["id"] for m in _messages(gateway_app, "pending")] == [message_id]
