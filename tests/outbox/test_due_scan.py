"""The drainer's scan for due dispatches does not grow with the dispatches already delivered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, insert, text
from sqlalchemy.orm import Session

from gateway.clock import ManualClock
from gateway.outbox.dispatcher import due_messages_query
from gateway.outbox.interfaces import DELIVERED, PENDING
from gateway.outbox.models import Dispatch, OutboxMessage

DELIVERED_BEFORE = 3000


def _history(session: Session, clock: ManualClock) -> None:
    """Many messages delivered long ago, one still pending with a retry due later."""
    now = clock.now()
    messages = [{"id": f"m-{n}", "kind": "delivery", "recipient": "riec", "payload": {},
                 "idempotency_key": f"k-{n}", "state": DELIVERED, "created_at": now}
                for n in range(DELIVERED_BEFORE)]
    messages[0]["state"] = PENDING
    session.execute(insert(OutboxMessage), messages)
    session.execute(insert(Dispatch), [
        {"id": f"d-{n}", "message_id": f"m-{n}", "channel": "webhook",
         "state": PENDING if n == 0 else DELIVERED, "attempts": 1,
         "next_attempt_at": now + timedelta(hours=1) if n == 0 else now}
        for n in range(DELIVERED_BEFORE)])


def _plan(connection: Connection, statement: str) -> str:
    explain = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
    return "\n".join(str(row[-1]) for row in connection.execute(text(explain + statement)))


def test_the_due_scan_reads_only_pending_dispatches(session: Session, clock: ManualClock
                                                    ) -> None:
    _history(session, clock)
    session.execute(text("ANALYZE"))
    connection = session.connection()
    due = due_messages_query(clock.now(), 500).compile(
        connection, compile_kwargs={"literal_binds": True})
    plan = _plan(connection, str(due))
    assert "ix_outbox_dispatches_due" in plan, plan
    assert not any(line for line in plan.splitlines()
                   if "outbox_dispatches" in line and ("Seq Scan" in line or "SCAN " in line)
                   and "INDEX" not in line), plan
