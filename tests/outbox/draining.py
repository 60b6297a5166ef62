"""Drive the outbox by hand in tests that run no background drainer."""

from __future__ import annotations

import time

from flask import Flask

from gateway.clock import ManualClock
from gateway.db import transaction

POLL_SECONDS = 0.02


def drain_until_settled(app: Flask, deadline_seconds: float = 10.0) -> None:
    """Dispatch every pending message until none is left. Retries wait out their backoff: a
    test's clock is moved on to the next retry, another clock is waited for."""
    container = app.extensions["ketenpoort"]
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with transaction(container.session_factory) as session:
            pending = container.outbox.list(session, "pending")
        if not pending:
            return
        retries = [container.outbox_dispatcher.dispatch(message["id"]) for message in pending]
        due = [moment for moment in retries if moment is not None]
        if isinstance(container.clock, ManualClock) and due:
            container.clock.set(max(container.clock.now(), min(due)))
        else:
            time.sleep(POLL_SECONDS)
    raise AssertionError("the outbox did not settle")
