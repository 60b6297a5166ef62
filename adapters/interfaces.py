"""The one interface every outbound channel implements.

Adapters know nothing of the gateway's database or policies: they get a finished message,
already minimised for its recipient, and either hand it over or raise :class:`ChannelError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class ChannelError(RuntimeError):
    """The message was not handed over; the dispatcher may try again later."""


@dataclass(frozen=True)
class OutboundMessage:
    delivery_id: str  # stable across retries: receivers use it to drop copies they already have
    recipient: str
    address: str
    subject: str
    body: dict[str, Any]
    # The W3C trace the delivery belongs to, sent on so the receiver can log it (not signed:
    # it says where to look, it proves nothing).
    traceparent: str | None = None
    text: str | None = None  # a human-readable body for channels that show one (e-mail)


class OutboundChannel(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> None: ...
