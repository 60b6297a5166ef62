"""Audit fixtures: the log, a signer on the session keyring, a sequencer on the test connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from audit.log import AuditLog, CheckpointSigner, Sequencer
from gateway import db
from gateway.clock import ManualClock
from gateway.keys import Keyring


def _exchange_event(**overrides: Any) -> dict[str, Any]:
    """An event shaped like the ones the exchange service records."""
    event: dict[str, Any] = {
        "action": "exchange.delivered",
        "actor": {"partner": "gemeente-vlaardingen", "client": "vlaardingen-zaaksysteem"},
        "subjects": ["ap-3f1c9a", "ap-77b2e0"],
        "categories": ["signaal", "woonsituatie"],
        "covenant": "rotterdam-rijnmond-mensenhandel",
        "covenant_version": "2025-03",
        "purpose": "signaalverwerking",
        "process_step": "detectie",
        "recipients": ["riec-rotterdam"],
        "decisions": [{"recipient": "riec-rotterdam", "allow": True, "identity": "pseudonym"}],
        "bundle_hash": "sha256:9f2b",
        "exchange_id": "ex-0001",
    }
    event.update(overrides)
    return event


@pytest.fixture
def make_event() -> Callable[..., dict[str, Any]]:
    return _exchange_event


@pytest.fixture
def audit_log(clock: ManualClock) -> AuditLog:
    return AuditLog(clock.now)


@pytest.fixture
def signer(keyring: Keyring) -> CheckpointSigner:
    return CheckpointSigner(keyring.signing_key("audit-checkpoint"))


@pytest.fixture
def sequencer(connection: Connection, signer: CheckpointSigner) -> Sequencer:
    # A small batch makes every test that integrates more than four entries cross batches.
    return Sequencer(db.make_session_factory(connection), signer, batch_size=4)


@pytest.fixture
def record_events(session: Session, audit_log: AuditLog) -> Callable[[int], list[str]]:
    """Append ``count`` distinct events and commit them, as finished exchanges would."""

    def record(count: int) -> list[str]:
        event_ids = [
            audit_log.append(session, _exchange_event(exchange_id=f"ex-{position}"))
            for position in range(count)
        ]
        session.commit()
        return event_ids

    return record
