"""Signals that never became a case are removed after the covenant's term, identities shredded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.cases.models import Case, CaseSignal
from gateway.container import Container
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.identity.models import Subject
from gateway.keys import Keyring
from gateway.outbox.models import OutboxMessage
from gateway.retention.cli import retention_commands
from gateway.retention.services import RetentionService, months_before
from gateway.settings import Settings
from tests.conftest import TEST_MORNING
from tests.factories import COVENANT, RIEC, VLAARDINGEN, bearer, exchange_body

SIGNAL_MONTHS = 12  # policies/covenants/riec-rr-mensenhandel.yaml, retention.signal


@pytest.fixture
def retention(gateway_app: Flask) -> RetentionService:
    container: Container = gateway_app.extensions["ketenpoort"]
    return RetentionService(container.session_factory, lambda: container.bundle,
                            container.vault, container.audit, container.clock,
                            container.retention.terms)


def _send(app: Flask, http: FlaskClient) -> str:
    response = http.post("/v1/exchanges", json=exchange_body(), headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201
    exchange_id: str = response.json["id"]
    return exchange_id


def _age(session: Session, exchange_id: str, months: int) -> None:
    exchange = session.get_one(Exchange, exchange_id)
    exchange.created_at = months_before(TEST_MORNING, months) - timedelta(days=1)
    session.flush()


def _subject_id(session: Session, exchange_id: str) -> str:
    delivery = session.scalars(select(Delivery).where(Delivery.exchange_id == exchange_id)).one()
    subject_id: str = delivery.payload["subjects"][0]["subject_id"]
    return subject_id


def _removals(session: Session) -> list[dict[str, Any]]:
    entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    return [e for e in entries if e["action"] == "retention.signal-removed"]


def test_an_expired_signal_is_removed_and_its_identity_shredded(
    gateway_app: Flask, http: FlaskClient, session: Session, retention: RetentionService
) -> None:
    exchange_id = _send(gateway_app, http)
    subject_id = _subject_id(session, exchange_id)
    _age(session, exchange_id, SIGNAL_MONTHS)

    assert retention.run().signals == 1
    assert retention.run().signals == 0

    session.expire_all()
    assert session.get(Exchange, exchange_id) is None
    assert session.scalars(select(Delivery).where(Delivery.exchange_id == exchange_id)).all() == []
    assert session.scalars(select(OutboxMessage)).all() == []
    assert session.get_one(Subject, subject_id).is_shredded
    [removal] = _removals(session)
    assert removal["exchange_id"] == exchange_id
    assert removal["deliveries_removed"] == 1
    assert (len(removal["identities_shredded"]), removal["identities_kept"]) == (1, 0)


def test_a_signal_within_its_term_is_kept(
    gateway_app: Flask, http: FlaskClient, session: Session, retention: RetentionService
) -> None:
    exchange_id = _send(gateway_app, http)
    _age(session, exchange_id, SIGNAL_MONTHS - 1)

    assert retention.run().signals == 0
    assert session.get(Exchange, exchange_id) is not None


def test_a_signal_that_became_a_case_is_kept(
    gateway_app: Flask, http: FlaskClient, session: Session, retention: RetentionService
) -> None:
    exchange_id = _send(gateway_app, http)
    session.add(Case(id="case-1", covenant=COVENANT, step="dossiervorming", regie=RIEC,
                     case_manager=VLAARDINGEN))
    session.flush()
    session.add(CaseSignal(case_id="case-1", exchange_id=exchange_id))
    _age(session, exchange_id, SIGNAL_MONTHS * 3)

    assert retention.run().signals == 0


def test_an_identity_another_signal_still_names_is_not_shredded(
    gateway_app: Flask, http: FlaskClient, session: Session, retention: RetentionService
) -> None:
    old, recent = _send(gateway_app, http), _send(gateway_app, http)
    subject_id = _subject_id(session, old)
    assert _subject_id(session, recent) == subject_id
    _age(session, old, SIGNAL_MONTHS)

    assert retention.run().signals == 1

    session.expire_all()
    assert not session.get_one(Subject, subject_id).is_shredded
    [removal] = _removals(session)
    assert (removal["identities_shredded"], removal["identities_kept"]) == ([], 1)


@pytest.mark.parametrize(("moment", "months", "expected"), [
    (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2026, 1, 15, tzinfo=UTC), 12, datetime(2025, 1, 15, tzinfo=UTC)),
    (datetime(2024, 2, 29, tzinfo=UTC), 12, datetime(2023, 2, 28, tzinfo=UTC)),
])
def test_terms_count_calendar_months(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_the_cli_runs_retention(
    gateway_app: Flask, http: FlaskClient, session: Session, connection: Connection,
    keyring: Keyring, settings: Settings,
) -> None:
    _age(session, _send(gateway_app, http), SIGNAL_MONTHS)
    session.commit()
    container = gateway_app.extensions["ketenpoort"]
    rehearsed = CliRunner().invoke(retention_commands, ["run", "--dry-run"], obj=container)
    result = CliRunner().invoke(retention_commands, ["run"], obj=container)

    assert rehearsed.stdout.strip() == ("dry run, nothing removed: 1 expired signal(s) and "
                                        "0 closed case(s) are due")
    assert result.stdout.strip() == ("removed 1 expired signal(s), 0 closed case(s), "
                                     "0 re-identification request(s), "
                                     "0 settled outbox message(s)")
