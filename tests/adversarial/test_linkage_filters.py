"""Attacks on the stored linkage filters by whoever holds the database but not the keyring.

Keyed bits stop a dictionary attack; sealing stops the frequency attacks that remain (grouping
persons by identical date bits, aligning frequent name bits with public statistics) and the
tampering a database writer could try: a filter moved onto another person, to make the RIEC
link the wrong person's data, is compared with nothing.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.linkage.encoding import BloomEncoder
from gateway.linkage.models import LinkageBlock, LinkageCandidate, LinkageRecord
from tests.factories import PIETER
from tests.linkage.test_linkage_api import PIETER_MISSPELT, STRANGER, _candidates, _send

KEY = bytes(range(32))
TWINS_BIRTH_DATE = {"family_name": "Bakker", "birth_date": "1990-03-08"}


def test_persons_born_on_one_day_share_no_stored_bits() -> None:
    encoder = BloomEncoder(KEY)
    pieter = encoder.encode({**TWINS_BIRTH_DATE, "given_names": "Pieter"})
    anna = encoder.encode({**TWINS_BIRTH_DATE, "given_names": "Anna"})
    assert pieter is not None
    assert anna is not None

    stored = [encoder.sealed(e.bloom, "subject") for e in (pieter, anna, pieter)]

    # Even one person sealed twice gives unrelated bytes: there is nothing to group or count.
    assert len(set(stored)) == 3
    assert sum(a == b for a, b in zip(stored[0], stored[2], strict=True)) < len(stored[0]) // 16


def test_a_sealed_filter_opens_only_for_its_own_subject_and_unaltered() -> None:
    encoder = BloomEncoder(KEY)
    encoding = encoder.encode(PIETER)  # type: ignore[arg-type]
    assert encoding is not None
    sealed = encoder.sealed(encoding.bloom, "subject-a")
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])

    assert encoder.opened(sealed, "subject-a") == encoding.bloom
    assert encoder.opened(sealed, "subject-b") is None
    assert encoder.opened(altered, "subject-a") is None
    assert BloomEncoder(bytes(32)).opened(sealed, "subject-a") is None


def test_a_filter_moved_onto_another_person_proposes_no_false_link(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _send(gateway_app, http, PIETER)
    _send(gateway_app, http, STRANGER)
    encoder: BloomEncoder = gateway_app.extensions["ketenpoort"].linkage.encoder
    stored = {row.subject_id: row.bloom for row in session.execute(
        select(LinkageRecord.subject_id, LinkageRecord.bloom))}
    pieter_encoding = encoder.encode(PIETER)  # type: ignore[arg-type]
    assert pieter_encoding is not None
    [pieter] = [s for s, sealed in stored.items()
                if encoder.opened(sealed, s) == pieter_encoding.bloom]
    [stranger] = set(stored) - {pieter}
    pieters_filter = stored[pieter]
    session.execute(update(LinkageRecord).where(LinkageRecord.subject_id == stranger)
                    .values(bloom=pieters_filter))
    for block in session.scalars(select(LinkageBlock.block_key)
                                 .where(LinkageBlock.subject_id == pieter)).all():
        session.add(LinkageBlock(block_key=block, subject_id=stranger))
    session.commit()

    _send(gateway_app, http, PIETER_MISSPELT)

    pairs = session.execute(select(LinkageCandidate.subject_a, LinkageCandidate.subject_b)).all()
    assert len(pairs) == 1
    assert pieter in pairs[0]
    assert stranger not in pairs[0]


def test_an_altered_filter_tells_the_reviewer_nothing(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _send(gateway_app, http, PIETER)
    _send(gateway_app, http, PIETER_MISSPELT)
    subject_id, sealed = session.execute(
        select(LinkageRecord.subject_id, LinkageRecord.bloom).limit(1)).one()
    session.execute(update(LinkageRecord).where(LinkageRecord.subject_id == subject_id)
                    .values(bloom=sealed[:-1] + bytes([sealed[-1] ^ 1])))
    session.commit()

    [candidate] = _candidates(gateway_app, http)

    assert candidate["features"] == {}
