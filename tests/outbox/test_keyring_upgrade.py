"""A keyring from before webhook signing keeps working and gains the key on ``init``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.interfaces import ChannelError, OutboundMessage
from gateway.container import outbound_channels
from gateway.instance import initialise
from gateway.keys import Keyring
from gateway.outbox.interfaces import WEBHOOK_SIGNING_KEY
from gateway.settings import Settings


def _old_keyring() -> Keyring:
    keyring = Keyring.generate()
    del keyring.signing[WEBHOOK_SIGNING_KEY]
    return Keyring.from_json(keyring.to_json())


def test_webhooks_fail_visibly_without_the_key(tmp_path: Path) -> None:
    webhook = outbound_channels(Settings(instance_path=tmp_path), _old_keyring())["webhook"]

    with pytest.raises(ChannelError, match="ketenpoort init"):
        webhook.send(OutboundMessage("d", "riec", "https://riec.example/hook", "s", {}))


def test_init_adds_the_missing_key_and_keeps_every_other(tmp_path: Path) -> None:
    settings = Settings(instance_path=tmp_path / "instance")
    old = _old_keyring()
    old.save(settings.keyring_path)
    before = json.loads(settings.keyring_path.read_text())

    initialise(settings)

    after = json.loads(settings.keyring_path.read_text())
    assert set(after["signing"]) == set(before["signing"]) | {WEBHOOK_SIGNING_KEY}
    assert {k: v for k, v in after["signing"].items() if k != WEBHOOK_SIGNING_KEY} == (
        before["signing"])
    assert after["symmetric"] == before["symmetric"]
