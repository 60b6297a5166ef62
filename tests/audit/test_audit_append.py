"""AuditLog.append: one row in the caller's transaction, canonical, and never plaintext identity."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit import merkle
from audit.interfaces import AuditAppendRefused, AuditError
from audit.log import AuditLog
from audit.models import AuditEntry

MakeEvent = Callable[..., dict[str, Any]]


def _entry_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_append_stores_the_canonical_entry_and_its_leaf_hash(
    session: Session, audit_log: AuditLog, make_event: MakeEvent
) -> None:
    event_id = audit_log.append(session, make_event())
    row = session.scalars(select(AuditEntry).where(AuditEntry.event_id == event_id)).one()
    stored = json.loads(row.entry)
    assert stored == {**make_event(), "event_id": event_id, "recorded_at": stored["recorded_at"]}
    assert stored["recorded_at"].endswith("Z")
    assert row.entry == json.dumps(stored, sort_keys=True, separators=(",", ":"))
    assert row.leaf_hash == merkle.leaf_hash(row.entry.encode())
    assert row.tree_index is None
    assert uuid.UUID(event_id).version == 4


def test_append_does_not_commit_so_a_rollback_removes_the_entry(
    session: Session, audit_log: AuditLog, make_event: MakeEvent
) -> None:
    audit_log.append(session, make_event())
    assert _entry_count(session) == 1
    session.rollback()
    assert _entry_count(session) == 0


def test_a_failing_append_fails_the_callers_whole_transaction(
    session: Session, audit_log: AuditLog, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = uuid.uuid4()
    monkeypatch.setattr("audit.log.uuid4", lambda: fixed)
    audit_log.append(session, make_event(exchange_id="ex-earlier-work"))
    with pytest.raises(AuditAppendRefused) as refused:
        audit_log.append(session, make_event(exchange_id="ex-same-event-id"))
    assert isinstance(refused.value.__cause__, IntegrityError)
    session.rollback()
    assert _entry_count(session) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"bsn": "123456782"},
        {"actor": {"partner": "politie", "family_name": "Jansen"}},
        {"decisions": [{"recipient": "om", "subject": {"birth_date": "1990-01-01"}}]},
        {"subjects": [{"given_names": "Piet"}]},
        {"BSN": "123456782"},
    ],
    ids=["top-level bsn", "nested family_name", "birth_date in list", "given_names", "upper BSN"],
)
def test_plaintext_identity_is_refused_anywhere_in_the_event(
    session: Session, audit_log: AuditLog, make_event: MakeEvent, overrides: dict[str, Any]
) -> None:
    with pytest.raises(AuditError, match="plaintext identity"):
        audit_log.append(session, make_event(**overrides))
    assert _entry_count(session) == 0


def test_identity_words_as_values_are_not_refused(
    session: Session, audit_log: AuditLog, make_event: MakeEvent
) -> None:
    audit_log.append(session, make_event(categories=["bsn", "birth_date"]))
    assert _entry_count(session) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event_id": "chosen-by-caller"}, "sets these itself"),
        ({"recorded_at": "2020-01-01T00:00:00Z"}, "sets these itself"),
        ({"action": None}, "non-empty 'action'"),
        ({"action": ""}, "non-empty 'action'"),
        ({"purpose": {1: "not a string key"}}, "canonical JSON"),
        ({"purpose": float("nan")}, "canonical JSON"),
    ],
    ids=["event_id", "recorded_at", "no action", "empty action", "int key", "nan"],
)
def test_malformed_events_are_refused(
    session: Session,
    audit_log: AuditLog,
    make_event: MakeEvent,
    overrides: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(AuditError, match=message):
        audit_log.append(session, make_event(**overrides))
    assert _entry_count(session) == 0
