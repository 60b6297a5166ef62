"""Publishing to the broker happens off the request thread, so a hung broker holds no request."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

from gateway.background.broker import CeleryPublisher, OffRequestPublisher


class HungBroker:
    """Stands in for CeleryPublisher against a broker that accepts and never answers."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.published: list[list[str]] = []
        self.done = threading.Event()

    def publish(self, message_ids: Sequence[str]) -> None:
        self.release.wait()
        self.published.append(list(message_ids))
        self.done.set()


def test_publish_returns_while_the_broker_hangs_and_delivers_once_it_answers() -> None:
    broker = HungBroker()
    publisher = OffRequestPublisher(cast(CeleryPublisher, cast(Any, broker)))

    publisher.publish(["m-1", "m-2"])

    assert broker.published == [], "the caller must not have waited for the broker"
    broker.release.set()
    assert broker.done.wait(timeout=10)
    assert broker.published == [["m-1", "m-2"]]
