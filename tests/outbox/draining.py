"""Drive the outbox by hand in tests that run no background drainer."""

from __future__ import annotations

import time

from flask import Flask

from gateway.db import transaction

POLL_SECONDS = 0.02


def drain_until_settled(app: Flask, deadline_seconds: float = 10.0) -> None:
    """Dispatch every pending message until none is left (retries wait out their backoff)."""
    container = app.extensions["ketenpoort"]
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with transaction(container.session_factory) as session:
            pending = container.outbox.list(session, "pending")
        if not pending:
            return
        for message in pending:
            container.outbox_dispatcher.dispatch(message["id"])
        time.sleep(POLL_SECONDS)
    raise AssertionError("the outbox did not settle")
