"""The gateway's operational state, read from the database at the moment it is asked.

Read from the database alone, so every process (each gunicorn worker, a CLI) reports the same
numbers whichever process runs the drainer or the sequencer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway.auditing.runner import audit_readiness
from gateway.db import read_only
from gateway.outbox.interfaces import DEAD, PENDING
from gateway.outbox.models import OutboxMessage


class StateUnreadable(RuntimeError):
    """The database could not be read: the state is unknown, not zero."""


@dataclass(frozen=True)
class OperationalSnapshot:
    outbox_pending: int
    outbox_dead_letters: int
    outbox_oldest_pending_age_seconds: float
    audit_sequencer_lag_seconds: float
    audit_checkpoint_age_seconds: float | None  # None: no checkpoint signed yet
    audit_signed_tree_size: int


class OperationalState:
    """Outbox depth and dead letters, the audit sequencer's lag and the last checkpoint's age.

    Times here are the records' own (written with the wall clock), so they are compared with
    the wall clock ``now``, as the audit readiness check does.
    """

    def __init__(self, session_factory: sessionmaker[Session],
                 now: Callable[[], datetime]) -> None:
        self._session_factory = session_factory
        self._now = now

    def snapshot(self) -> OperationalSnapshot:
        try:
            return self._read()
        except SQLAlchemyError as error:
            raise StateUnreadable(type(error).__name__) from error

    def _read(self) -> OperationalSnapshot:
        now = self._now()
        with read_only(self._session_factory) as session:
            counts: dict[str, int] = dict(session.execute(
                select(OutboxMessage.state, func.count())
                .where(OutboxMessage.state.in_((PENDING, DEAD)))
                .group_by(OutboxMessage.state)).all())
            oldest_pending = session.scalar(
                select(func.min(OutboxMessage.created_at)).where(OutboxMessage.state == PENDING))
        _, audit = audit_readiness(self._session_factory, clock=self._now)
        if "error" in audit:
            raise StateUnreadable(audit["error"])
        checkpoint_at = audit["latest_checkpoint_at"]
        return OperationalSnapshot(
            outbox_pending=counts.get(PENDING, 0),
            outbox_dead_letters=counts.get(DEAD, 0),
            outbox_oldest_pending_age_seconds=_age(now, oldest_pending),
            audit_sequencer_lag_seconds=audit["lag_seconds"],
            audit_checkpoint_age_seconds=(
                None if checkpoint_at is None
                else _age(now, datetime.fromisoformat(checkpoint_at))),
            audit_signed_tree_size=audit["signed_tree_size"],
        )


def _age(now: datetime, moment: datetime | None) -> float:
    return 0.0 if moment is None else max(0.0, (now - moment).total_seconds())
