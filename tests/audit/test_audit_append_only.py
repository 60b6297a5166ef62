"""The database refuses to rewrite the log: entries only ever receive their tree position."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from audit.log import Sequencer
from audit.models import AuditEntry, AuditSigningKey, AuditTreeNode, Checkpoint

RecordEvents = Callable[[int], list[str]]


@pytest.fixture
def sequenced(sequencer: Sequencer, record_events: RecordEvents) -> list[str]:
    event_ids = record_events(4)
    sequencer.run_once()
    record_events(1)
    return event_ids


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEntry).values(entry='{"action":"rewritten"}'),
        update(AuditEntry).values(leaf_hash=bytes(32)),
        update(AuditEntry).values(event_id="00000000-0000-4000-8000-000000000000"),
        update(AuditEntry).where(AuditEntry.tree_index == 0).values(tree_index=99),
        delete(AuditEntry),
        delete(AuditTreeNode),
        update(AuditTreeNode).values(hash=bytes(32)),
        delete(Checkpoint),
        update(Checkpoint).values(tree_size=3),
        delete(AuditSigningKey),
    ],
    ids=[
        "edit entry",
        "edit leaf hash",
        "edit event id",
        "move integrated entry",
        "delete entry",
        "delete node",
        "edit node",
        "delete checkpoint",
        "edit checkpoint",
        "delete key",
    ],
)
def test_rewriting_history_is_refused(
    session: Session, sequenced: list[str], statement: Executable
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(statement)


def test_a_pending_entry_may_receive_its_position_once(
    session: Session, sequenced: list[str]
) -> None:
    session.execute(update(AuditEntry).where(AuditEntry.tree_index.is_(None)).values(tree_index=4))
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(update(AuditEntry).where(AuditEntry.tree_index == 4).values(tree_index=5))
