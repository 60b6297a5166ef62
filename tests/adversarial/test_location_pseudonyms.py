"""Attacks on addresses and businesses as subjects.

An address of a home, or the KvK number of a one-person business, is personal data. A curious
recipient tries to learn the address behind its pseudonym (from the pseudonym itself, from the
audit entries it may read, from another recipient's pseudonym), and a partner probes whether an
address is already known to the chain by reporting it and watching the answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.linkage.models import LinkageRecord
from tests.adversarial.test_audit_oracle import everything_readable
from tests.exchange.test_subject_kinds import (
    INSPECTIE,
    inbox,
    location,
    organisation,
    send,
    signal_about,
)
from tests.factories import POLITIE, RIEC, VLAARDINGEN, bearer

# What must never be readable outside the vault and an identified delivery.
ADDRESS_TEXT = ("3011 AB", "3011AB", "3011ab", "achterhuis", "69599084", "000038509504",
                "Bezem")
PARTNER_SCOPES = ("exchange:write", "inbox:read", "audit:own")


def _unkeyed_guesses() -> set[str]:
    """What a recipient could compute from an address without the gateway's keys."""
    guesses = set()
    for key in ("loc:3011AB|12|A", "3011AB12A", "3011 AB 12 A", "kvk:69599084", "69599084"):
        for algorithm in ("sha256", "sha512", "blake2b"):
            digest = hashlib.new(algorithm, key.encode()).digest()
            guesses.add(base64.b32encode(digest).decode()[:25])
    return guesses


def test_a_curious_recipient_learns_no_address_from_pseudonyms_or_the_audit_log(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    send(gateway_app, http, VLAARDINGEN, signal_about(
        location(), organisation(), recipients=[RIEC, INSPECTIE],
        exploitation_form="arbeidsuitbuiting"))

    riec = bearer(gateway_app, RIEC, PARTNER_SCOPES)
    inspectie = bearer(gateway_app, INSPECTIE, PARTNER_SCOPES)
    seen = {partner: [s["pseudonym"] for d in inbox(gateway_app, http, partner)
                      for s in d["subjects"]] for partner in (RIEC, INSPECTIE)}
    readable = everything_readable(gateway_app, riec) + everything_readable(gateway_app, inspectie)
    in_the_log = "\n".join(e.entry for e in session.scalars(select(AuditEntry)))

    for text in ADDRESS_TEXT:
        assert text not in readable
        assert text not in in_the_log, "the append-only log keeps no address or KvK number"
    pseudonym_bodies = {p.split("-", 1)[1].replace("-", "") for ps in seen.values() for p in ps}
    assert not pseudonym_bodies & _unkeyed_guesses(), "a pseudonym is no unkeyed hash"
    assert not set(seen[RIEC]) & set(seen[INSPECTIE]), (
        "the two recipients cannot join their records on the address or the business")


def test_a_rejected_address_is_not_kept_in_the_log(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    body = signal_about(location({"postcode": "3011 AB", "house_number": "12b",
                                  "description": "achterhuis"}))
    assert http.post("/v1/exchanges", json=body,
                     headers=bearer(gateway_app, VLAARDINGEN)).status_code == 422

    [rejection] = [json.loads(e.entry) for e in session.scalars(select(AuditEntry))]
    assert "/subjects/0/identifiers/house_number" in rejection["fields"]
    assert not any(text in json.dumps(rejection) for text in ADDRESS_TEXT)


def _without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in {"id", "audit_event_id"}}


def test_a_partner_probing_whether_an_address_is_known_learns_nothing(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    send(gateway_app, http, POLITIE, signal_about(location()))

    known = send(gateway_app, http, VLAARDINGEN, signal_about(location()))
    unknown = send(gateway_app, http, VLAARDINGEN, signal_about(location(
        {"postcode": "3011 AB", "house_number": "14"})))

    assert _without_ids(known) == _without_ids(unknown)
    headers = bearer(gateway_app, VLAARDINGEN)
    views = [http.get(f"/v1/exchanges/{answer['id']}", headers=headers).json
             for answer in (known, unknown)]
    assert [_without_ids({k: v for k, v in view.items() if k != "created_at"})
            for view in views] == [_without_ids({k: v for k, v in views[0].items()
                                                 if k != "created_at"})] * 2
    assert "PSN" not in json.dumps(views), "the sender is never shown a pseudonym"
    # Addresses link by their exact key only: nothing is fuzzy-matched, so no linkage
    # candidate can tell a reviewer that "a similar address" exists.
    assert session.scalar(select(func.count()).select_from(LinkageRecord)) == 0
    candidates = http.get("/v1/linkage/candidates",
                          headers=bearer(gateway_app, RIEC, ("linkage:read",)))
    assert candidates.status_code == 200, candidates.json
    assert candidates.json["items"] == []
