"""Closed cases are removed after the covenant's ``case`` term, with all that hangs off them."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.cases.models import (
    Case,
    CaseAssignment,
    CaseProgress,
    CaseSignal,
    CaseSubject,
)
from gateway.container import Container
from gateway.delivery.messages import InboxMessage
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.meetings.models import AgendaItem, PublishedView
from gateway.outbox.models import OutboxMessage
from gateway.ports import SubjectShreddedError
from gateway.retention.services import RetentionService, months_before
from tests.cases.factories import create_case, put_case_at, send_signal, token
from tests.conftest import TEST_MORNING
from tests.factories import EVA, POLITIE, VLAARDINGEN, exchange_body
from tests.meetings.factories import add_item, create_meeting, publish

CASE_MONTHS = 60  # policies/covenants/riec-rr-mensenhandel.yaml, retention.case


@pytest.fixture
def retention(gateway_app: Flask) -> RetentionService:
    container: Container = gateway_app.extensions["ketenpoort"]
    return RetentionService(container.session_factory, lambda: container.bundle,
                            container.vault, container.audit, container.clock,
                            container.retention.terms)


def _worked_case(app: Flask, http: FlaskClient, session: Session) -> str:
    """A case about Eva and Pieter with an assignment, progress, an exchange naming it and a
    published agenda item; its id."""
    case_id: str = create_case(app, http)["id"]
    put_case_at(app, case_id, "dossiervorming", assigned=VLAARDINGEN)
    body = exchange_body(case_id=case_id)
    del body["process_step"]
    response = http.post("/v1/exchanges", json=body,
                         headers=token(app, VLAARDINGEN, ("exchange:write",)))
    assert response.status_code == 201, response.json
    assignment = session.scalars(select(CaseAssignment).where(
        CaseAssignment.case_id == case_id)).one()
    session.add(CaseProgress(id=str(uuid.uuid4()), assignment_id=assignment.id,
                             note="huisbezoek afgelegd"))
    meeting_id = create_meeting(app, http, [VLAARDINGEN, POLITIE])
    add_item(app, http, meeting_id, case_id, "Casus Havenstraat")
    publish(app, http, meeting_id)
    return case_id


def _close(session: Session, case_id: str, months_ago: int) -> None:
    case = session.get_one(Case, case_id)
    case.step = "gesloten"
    case.closed_at = months_before(TEST_MORNING, months_ago) - timedelta(days=1)
    session.flush()


def _subject_ids(session: Session, case_id: str) -> list[str]:
    return list(session.scalars(select(CaseSubject.subject_id)
                                .where(CaseSubject.case_id == case_id)
                                .order_by(CaseSubject.position)))


def _case_removals(session: Session) -> list[dict[str, Any]]:
    entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    return [e for e in entries if e["action"] == "retention.case_removed"]


def _rows(session: Session, model: type[Any]) -> list[Any]:
    return list(session.scalars(select(model)))


def test_an_expired_closed_case_is_removed_with_everything_about_it_and_audited(
    gateway_app: Flask, http: FlaskClient, session: Session, retention: RetentionService
) -> None:
    case_id = _worked_case(gateway_app, http, session)
    subject_ids = _subject_ids(session, case_id)
    _close(session, case_id, CASE_MONTHS)
    assert _rows(session, InboxMessage) != []
    deliveries = len(_rows(session, Delivery))  # all of them about the case

    told: list[tuple[str, int, int]] = []
    assert retention.run(progress=lambda *step: told.append(step)).cases == 1
    assert told == [("cases", 1, 1)]
    assert retention.run().cases == 0

    session.expire_all()
    assert session.get(Case, case_id) is None
    # The queued agenda views showed the case's title and question: they go with it, as do
    # the inbox messages about the case (its manager's appointment, the agenda views).
    assert _rows(session, InboxMessage) == []
    for model in (CaseSubject, CaseSignal, CaseAssignment, CaseProgress, AgendaItem,
                  PublishedView, Exchange, Delivery, OutboxMessage):
        assert _rows(session, model) == [], model
    vault = gateway_app.extensions["ketenpoort"].vault
    for subject_id in subject_ids:
        with pytest.raises(SubjectShreddedError):
            vault.reveal(session, subject_id)
    [removal] = _case_removals(session)
    assert (removal["case_id"], removal["exchanges_removed"]) == (case_id, 2)
    assert removal["deliveries_removed"] == deliveries > 0
    assert removal["identities_shredded"] == [vault.audit_pseudonym(s)
                                              for s in sorted(subject_ids)]
    assert not {s for s in subject_ids if s in json.dumps(removal)}


def test_a_recently_closed_case_and_an_old_open_one_are_kept(
    gateway_app: Flask, http: FlaskClient, session: Session, retention: RetentionService
) -> None:
    recently_closed = create_case(gateway_app, http)["id"]
    _close(session, recently_closed, CASE_MONTHS - 1)
    old_open = create_case(gateway_app, http)["id"]
    session.get_one(Case, old_open).created_at = months_before(TEST_MORNING, CASE_MONTHS * 2)
    session.flush()

    assert retention.run().cases == 0

    assert session.get(Case, recently_closed) is not None
    assert session.get(Case, old_open) is not None
    assert _case_removals(session) == []


def test_an_identity_named_elsewhere_is_kept_one_named_nowhere_else_is_shredded(
    gateway_app: Flask, http: FlaskClient, session: Session, retention: RetentionService
) -> None:
    case_id = create_case(gateway_app, http)["id"]
    eva, pieter = _subject_ids(session, case_id)
    send_signal(gateway_app, http, identifiers=(EVA,))
    _close(session, case_id, CASE_MONTHS)

    assert retention.run().cases == 1

    session.expire_all()
    vault = gateway_app.extensions["ketenpoort"].vault
    assert vault.reveal(session, eva)["bsn"] == EVA["bsn"]
    with pytest.raises(SubjectShreddedError):
        vault.reveal(session, pieter)
    [removal] = _case_removals(session)
    assert removal["identities_shredded"] == [vault.audit_pseudonym(pieter)]
    assert removal["identities_kept"] == 1
