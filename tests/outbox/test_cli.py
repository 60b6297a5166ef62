"""``ketenpoort channel`` and ``ketenpoort outbox`` through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from gateway.container import Container
from gateway.identity.envelope import ContentSealer
from gateway.keys import Keyring
from gateway.outbox.cli import channel_commands, outbox_commands
from gateway.outbox.models import Dispatch, OutboxMessage
from gateway.outbox.services import NoPublisher, Outbox, WebhookSecrets
from tests.factories import POLITIE, RIEC
from tests.outbox.conftest import public_pem
from tests.outbox.receivers import WebhookReceiver

Invoke = Callable[..., Result]


@pytest.fixture
def channel(container: Container) -> Invoke:
    return lambda *args: CliRunner().invoke(channel_commands, list(args), obj=container)


@pytest.fixture
def outbox(container: Container) -> Invoke:
    return lambda *args: CliRunner().invoke(outbox_commands, list(args), obj=container)


def _dead_message(session: Session, keyring: Keyring) -> str:
    message_id = Outbox(NoPublisher(), ContentSealer(keyring)).enqueue(
        session, kind="test.notice", recipient=RIEC, payload={}, idempotency_key="dead-1")
    session.add(Dispatch(id="d-1", message_id=message_id, channel="webhook", state="dead",
                         attempts=8, address="https://partner.example/hook"))
    session.get_one(OutboxMessage, message_id).state = "dead"
    session.flush()
    return message_id


def test_channel_set_adds_and_removes_channels(channel: Invoke) -> None:
    added = channel("set", "--partner", RIEC, "--webhook", "https://riec.example/hook",
                    "--email", "riec@example.test")
    removed = channel("set", "--partner", RIEC, "--email", "")

    assert added.exit_code == 0, added.output
    assert [c["channel"] for c in json.loads(added.stdout)["channels"]] == [
        "inbox", "webhook", "email"]
    assert json.loads(removed.stdout)["channels"] == [
        {"channel": "inbox", "address": None},
        {"channel": "webhook", "address": "https://riec.example/hook"}]


@pytest.mark.parametrize(("args", "field"), [
    (["--partner", "nobody", "--email", "a@b.nl"], "/partner"),
    (["--partner", RIEC, "--webhook", "ftp://riec.example"], "/webhook"),
    (["--partner", RIEC, "--email", "a@b.nl, c@d.nl"], "/email"),
])
def test_bad_channels_are_refused_naming_the_field(
    channel: Invoke, args: list[str], field: str
) -> None:
    result = channel("set", *args)

    assert result.exit_code == 1
    assert field in result.output
    assert json.loads(channel("show", "--partner", RIEC).stdout)["channels"] == [
        {"channel": "inbox", "address": None}]


def test_signing_key_prints_the_key_receivers_verify_with(
    channel: Invoke, keyring: Keyring
) -> None:
    result = channel("signing-key")

    assert result.stdout.strip().encode() == public_pem(keyring).strip()
    serialization.load_pem_public_key(result.stdout.encode())


def test_webhook_secret_prints_each_partners_own_standard_webhooks_secret(
    channel: Invoke, keyring: Keyring
) -> None:
    riec = channel("webhook-secret", "--partner", RIEC)
    politie = channel("webhook-secret", "--partner", POLITIE)

    assert riec.exit_code == 0, riec.output
    assert riec.stdout.strip() == WebhookSecrets(keyring).shown(RIEC)
    assert riec.stdout.startswith("whsec_")
    assert riec.stdout != politie.stdout
    assert channel("webhook-secret", "--partner", "kmar").exit_code == 1


def test_dead_letters_are_listed_and_revived(
    outbox: Invoke, session: Session, keyring: Keyring
) -> None:
    message_id = _dead_message(session, keyring)

    [listed] = [json.loads(line) for line in outbox("list", "--state", "dead").stdout.splitlines()]
    retried = outbox("retry", message_id)

    assert listed["id"] == message_id
    assert listed["channels"][0]["state"] == "dead"
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.stdout)["state"] == "pending"
    assert outbox("list", "--state", "dead").stdout == ""


def test_retry_of_an_unknown_message_fails_cleanly(outbox: Invoke) -> None:
    result = outbox("retry", "no-such-id")

    assert result.exit_code == 1
    assert "no outbox message" in result.output


def test_drain_delivers_in_this_process(
    outbox: Invoke, channel: Invoke, session: Session, webhook_receiver: WebhookReceiver,
    keyring: Keyring,
) -> None:
    channel("set", "--partner", RIEC, "--webhook", webhook_receiver.url)
    Outbox(NoPublisher(), ContentSealer(keyring)).enqueue(
        session, kind="test.notice", recipient=RIEC, payload={"title": "t"},
        idempotency_key="drain-1")
    session.commit()

    result = outbox("drain")

    assert result.stdout.strip() == "dispatched 1 message(s)"
    assert sum(webhook_receiver.processed.values()) == 1
