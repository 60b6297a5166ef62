"""E-mail is read by a person: a short Dutch text with a link into the workspace, and no
pseudonym, identifier, content or JSON in it."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from gateway.db import transaction
from gateway.outbox.services import ChannelDirectory
from tests.cases.factories import create_case
from tests.factories import EVA, PIETER, RIEC, VLAARDINGEN
from tests.outbox.draining import drain_until_settled
from tests.outbox.receivers import SmtpServer


def _mail_to(app: Flask, partner: str) -> None:
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        ChannelDirectory().set(session, partner, webhook_url=None,
                               email=f"{partner}@example.test",
                               known_partners=container.policy.bundle.partner_ids(),
                               audit=container.audit)


def test_mails_are_dutch_readable_and_carry_a_link_but_no_identifiers(
        gateway_app: Flask, http: FlaskClient, smtp_server: SmtpServer) -> None:
    _mail_to(gateway_app, RIEC)
    _mail_to(gateway_app, VLAARDINGEN)
    case = create_case(gateway_app, http)

    drain_until_settled(gateway_app)

    mails = {str(m["To"]): m for m in smtp_server.messages}
    appointed, delivered = mails[f"{VLAARDINGEN}@example.test"], mails[f"{RIEC}@example.test"]
    assert appointed["Subject"] == "Ketenpoort: U bent casusregisseur"
    assert "U bent aangewezen als casusregisseur" in appointed.get_content()
    assert (f"https://ketenpoort.local/werkruimte/casussen/{case['id']}"
            in appointed.get_content())
    assert delivered["Subject"] == "Ketenpoort: Nieuwe levering in Ketenpoort"
    assert "https://ketenpoort.local/werkruimte/inbox" in delivered.get_content()
    for mail in (appointed, delivered):
        text = mail.get_content()
        assert "{" not in text
        assert not any(value in text for person in (EVA, PIETER) for value in person.values())
        assert not any(s["pseudonym"] in text for s in case["subjects"])
