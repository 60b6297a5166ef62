"""The e-mail channel against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from adapters.email import EmailChannel
from adapters.interfaces import ChannelError, OutboundMessage
from tests.local_ca import LocalCA, trusted_ca, untrusted_ca
from tests.outbox.receivers import SmtpServer, free_port

MESSAGE = OutboundMessage(delivery_id="d-7", recipient="riec", address="riec@example.test",
                          subject="Ketenpoort: agenda", body={"items": ["één"]})


def test_one_mail_with_the_delivery_id_as_message_id(smtp_server: SmtpServer) -> None:
    EmailChannel("127.0.0.1", smtp_server.port, "gateway@example.test",
                 ca_bundle=trusted_ca().bundle).send(MESSAGE)

    [mail] = smtp_server.messages
    assert mail["Message-ID"] == "<d-7@ketenpoort>"
    assert (mail["To"], mail["Subject"]) == ("riec@example.test", "Ketenpoort: agenda")
    assert json.loads(mail.get_content()) == MESSAGE.body


def test_an_unreachable_server_is_a_channel_error() -> None:
    channel = EmailChannel("127.0.0.1", free_port(), "gateway@example.test", timeout_seconds=2)

    with pytest.raises(ChannelError, match="SMTP"):
        channel.send(MESSAGE)


@pytest.mark.parametrize("server_ca", [untrusted_ca, None], ids=["impostor", "no-starttls"])
def test_no_mail_is_sent_when_tls_fails(server_ca: Callable[[], LocalCA] | None) -> None:
    server = SmtpServer(ca=None if server_ca is None else server_ca()).start()
    try:
        channel = EmailChannel("127.0.0.1", server.port, "gateway@example.test",
                               ca_bundle=trusted_ca().bundle, timeout_seconds=2)

        with pytest.raises(ChannelError, match="SMTP"):
            channel.send(MESSAGE)
        assert server.messages == []
    finally:
        server.stop()
