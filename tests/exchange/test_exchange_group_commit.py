"""Exchanges that share a group commit, on a database that commits for real.

A retry that races its first request into the same batch makes the batch's multi-row insert of
exchanges fail; the batch then runs unit by unit, the retry is answered as the first request
was, and one exchange with one audit entry is stored, its neighbour untouched.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway import db
from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.conftest import BACKENDS, SEALING_LAG_OF_A_TEST_APP, instance_database
from tests.factories import VLAARDINGEN, bearer, exchange_body


@pytest.fixture(params=BACKENDS)
def committing_app(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                   tmp_path: Path, test_policies_path: Path, keyring: Keyring,
                   clock: ManualClock) -> Iterator[Flask]:
    with instance_database(request.param, monkeypatch, "batch"):
        (tmp_path / "instance").mkdir()
        settings = Settings(instance_path=tmp_path / "instance", policies_path=test_policies_path,
                            database_url=os.environ.get("KETENPOORT_DATABASE_URL", ""),
                            audit_max_lag_seconds=SEALING_LAG_OF_A_TEST_APP)
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        yield create_app(settings, bind=engine, keyring=keyring, clock=clock)
        engine.dispose()


def _sent_in_one_batch(app: Flask, requests: list[dict[str, str]]) -> list[tuple[int, Any]]:
    """POST the exchange with each of ``requests``' headers at once, all queued behind a commit
    that is held until every one of them waits for the next: they share that one."""
    committer = app.extensions["ketenpoort"].exchanges.committer
    entered, release = threading.Event(), threading.Event()

    def held(_session: Session) -> None:
        entered.set()
        release.wait(timeout=30)

    holder = threading.Thread(target=committer.run, args=(held,))
    holder.start()
    assert entered.wait(timeout=30)
    answers: list[tuple[int, Any]] = []

    def send(headers: dict[str, str]) -> None:
        response = app.test_client().post("/v1/exchanges", json=exchange_body(), headers=headers)
        answers.append((response.status_code, response.json))

    senders = [threading.Thread(target=send, args=(headers,)) for headers in requests]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 30
    while committer.queued < len(requests) and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    for thread in [holder, *senders]:
        thread.join(timeout=30)
    return answers


def test_a_retry_in_the_same_batch_is_answered_as_the_first_and_stored_once(
    committing_app: Flask,
) -> None:
    sender = bearer(committing_app, VLAARDINGEN)

    answers = _sent_in_one_batch(committing_app, [
        {**sender, "Idempotency-Key": "retried"}, {**sender, "Idempotency-Key": "retried"},
        {**sender, "Idempotency-Key": "neighbour"}])

    assert [status for status, _body in answers] == [201, 201, 201]
    assert len({body["id"] for _status, body in answers}) == 2  # the retry got the first's id
    with db.read_only(committing_app.extensions["ketenpoort"].session_factory) as session:
        stored = session.execute(select(Exchange.idempotency_key, Exchange.id)).all()
        delivered = session.scalars(select(Delivery.exchange_id)).all()
        audited = [json.loads(entry).get("exchange_id")
                   for entry in session.scalars(select(AuditEntry.entry))]
    ids = sorted(exchange_id for _key, exchange_id in stored)
    assert sorted(key for key, _id in stored) == ["neighbour", "retried"]
    assert sorted({body["id"] for _status, body in answers}) == ids
    assert sorted(delivered) == ids  # one delivery each, none of the rolled-back retry
    assert sorted(filter(None, audited)) == ids  # and one audit entry each
