"""Can the audit log take an entry right now? Asked by ``/readyz``.

Reading the log's state is not enough: a database can answer reads while it refuses inserts
(read-only after a failover, a revoked grant, a full disk). The probe writes a real entry in a
transaction it always rolls back, so it proves the path every action takes and leaves nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from audit.interfaces import AuditAppendRefused
from audit.log import AuditLog

PROBE_EVENT = {"action": "readiness.probe"}


def audit_appendable(session_factory: sessionmaker[Session], audit: AuditLog) -> dict[str, Any]:
    """``{"appendable": True}``, or ``False`` with the error's type (never its message)."""
    record = audit.record(PROBE_EVENT)
    session = session_factory()
    try:
        audit.write(session, record)
    except (AuditAppendRefused, SQLAlchemyError) as error:
        return {"appendable": False, "append_error": type(error.__cause__ or error).__name__}
    finally:
        session.rollback()
        session.close()
    return {"appendable": True}
