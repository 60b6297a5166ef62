"""Audit entries of operator commands that run without a working container.

Sealing or unsealing the keyring, and restoring a backup, run where the container cannot be
built (the keyring does not open as configured until the command has done its work), so they
write their entry through a session of their own, naming the operator who ran them.
"""

from __future__ import annotations

import getpass
from typing import Any

from audit.log import AuditLog
from gateway.clock import clock_starting_at
from gateway.db import make_engine, make_session_factory, transaction
from gateway.settings import Settings


def audit_operator_command(settings: Settings, event: dict[str, Any]) -> None:
    """Append ``event`` to the log of the settings' database, as the operator's."""
    engine = make_engine(settings.database_url)
    clock = clock_starting_at(settings.clock_start)
    try:
        with transaction(make_session_factory(engine, clock)) as session:
            AuditLog(clock.now).append(session, {**event,
                                                 "actor": {"operator": getpass.getuser()}})
    finally:
        engine.dispose()
