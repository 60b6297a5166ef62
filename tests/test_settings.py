"""Settings that guard the network: the webhook egress allow-list and TLS by default."""

from __future__ import annotations

import pytest

from gateway.settings import Settings, SettingsError


def test_the_egress_allow_list_is_read_per_partner() -> None:
    allowed = "riec=Hooks.RIEC.example, backup.riec.example:8443; politie=p.nl"

    settings = Settings.from_env({"KETENPOORT_WEBHOOK_EGRESS": allowed})

    assert settings.webhook_egress_hosts == {
        "riec": frozenset({"hooks.riec.example", "backup.riec.example:8443"}),
        "politie": frozenset({"p.nl"})}


@pytest.mark.parametrize("text", ["hooks.riec.example", "riec=", "=hooks.riec.example"])
def test_a_malformed_allow_list_stops_the_start(text: str) -> None:
    with pytest.raises(SettingsError, match="webhook_egress"):
        Settings(webhook_egress=text)


def test_mail_is_sent_over_tls_unless_turned_off() -> None:
    assert Settings().smtp_starttls is True
    assert Settings.from_env({"KETENPOORT_SMTP_STARTTLS": "false"}).smtp_starttls is False
