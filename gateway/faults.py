"""Which failures mean "a service the gateway needs is unavailable", not "the request is bad".

The web layer answers these with ``503`` and ``Retry-After`` wherever they surface (the token
check in the auth guard, an audit append, a service's transaction), so a partner never sees a
500 for a database that is restarting and knows that retrying is safe: the failed transaction
changed nothing.
"""

from __future__ import annotations

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from audit.interfaces import AuditAppendRefused
from gateway.problems import Problem

#: Seconds a partner should wait before retrying after the database or audit log failed.
STORAGE_RETRY_AFTER_SECONDS = 5


def storage_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database (or the audit log in it) cannot be used right now."""
    if isinstance(error, AuditAppendRefused | OperationalError | InterfaceError
                  | DisconnectionError | PoolTimeout):
        return True
    # A connection dropped mid-statement surfaces as whatever error the driver raised then.
    return isinstance(error, DBAPIError) and error.connection_invalidated


def unavailability(error: BaseException) -> Problem:
    """The 503 problem for ``error`` (one for which :func:`storage_unavailable` holds)."""
    if isinstance(error, AuditAppendRefused):
        slug, what = "audit-unavailable", "the audit log refused the entry"
    else:
        slug, what = "storage-unavailable", "the database is unavailable"
    return Problem(503, slug, "Service unavailable",
                   f"{what}; nothing was changed, retry later",
                   headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)})
