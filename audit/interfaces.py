"""What the rest of the gateway may rely on from the audit log.

The exchange service holds an :class:`IAuditLog` and writes its entry inside the transaction
that stores a delivery (:meth:`IAuditLog.append`, or :meth:`~audit.log.AuditLog.record`
before the transaction and :meth:`~audit.log.AuditLog.write` inside it): the audit record
and the delivery commit or roll back together, which is how "no audit record, no exchange"
(fail closed) is enforced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the offline verifier loads this module without SQLAlchemy
    from sqlalchemy.orm import Session


class AuditError(RuntimeError):
    """An event the log refuses to record, or a proof it cannot give."""


class AuditAppendRefused(RuntimeError):
    """The database refused to store an audit entry (down, read-only, permission revoked).

    Whatever the caller was doing must not happen without its entry, so its transaction rolls
    back; the gateway answers 503 (see :mod:`gateway.faults`).
    """


@dataclass(frozen=True)
class InclusionProof:
    event_id: str
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class AuditRecord:
    """An audit entry made ready to write: its id, time, canonical JSON and leaf hash."""

    event_id: str
    recorded_at: datetime
    entry: bytes
    leaf_hash: bytes


class IAuditLog(Protocol):
    def append(self, session: Session, event: Mapping[str, Any]) -> str:
        """Record ``event`` in the caller's transaction and return its event id.

        Never commits. Raises :class:`AuditError` (or the database error) so the caller's
        transaction fails with it.
        """

    def inclusion_proof(self, session: Session, event_id: str, tree_size: int) -> InclusionProof:
        """RFC 9162 inclusion proof of one event in the tree of ``tree_size`` entries."""

    def consistency_proof(self, session: Session, first: int, second: int) -> tuple[bytes, ...]:
        """RFC 9162 consistency proof that the tree of ``first`` entries prefixes ``second``."""
