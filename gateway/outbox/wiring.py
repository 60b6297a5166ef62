"""Assembles the outbox for the container: the same dispatcher in both task modes.

``inprocess``: the publisher wakes a :class:`BackgroundDrainer` (started by ``create_app``
when ``run_background_workers`` is on). ``celery``: the publisher sends one task per row;
workers and beat (``gateway.tasks``) drain and re-sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from adapters.email import EmailChannel
from adapters.interfaces import OutboundChannel
from adapters.webhook import WebhookChannel
from gateway.delivery.stored import IdentitySource
from gateway.identity.envelope import ContentSealer
from gateway.keys import Keyring
from gateway.outbox.dispatcher import Dispatcher, RetryPolicy
from gateway.outbox.interfaces import EMAIL, WEBHOOK, AuditAppender, Publisher
from gateway.outbox.rendering import EXCHANGE_DELIVERY, ExchangeDeliveryRenderer, PayloadAsIs
from gateway.outbox.runner import BackgroundDrainer
from gateway.outbox.services import ChannelDirectory, NoPublisher, Outbox
from gateway.outbox.tasks import CeleryPublisher, OffRequestPublisher, make_celery
from gateway.settings import Settings

WEBHOOK_SIGNING_KEY = "webhook-signing"


@dataclass
class OutboxParts:
    outbox: Outbox
    dispatcher: Dispatcher
    drainer: BackgroundDrainer | None


def build_outbox(
    settings: Settings, keyring: Keyring, session_factory: sessionmaker[Session],
    vault: IdentitySource, audit: AuditAppender,
) -> OutboxParts:
    content = ContentSealer(keyring)
    dispatcher = Dispatcher(
        session_factory=session_factory,
        directory=ChannelDirectory(),
        channels=outbound_channels(settings, keyring),
        renderers={EXCHANGE_DELIVERY: ExchangeDeliveryRenderer(vault, content)},
        default_renderer=PayloadAsIs(),
        audit=audit,
        policy=RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            backoff_seconds=settings.outbox_backoff_seconds,
            max_backoff_seconds=settings.outbox_max_backoff_seconds,
            lease_seconds=settings.outbox_lease_seconds,
        ),
        content=content,
    )
    drainer = None
    publisher: Publisher
    if settings.task_mode == "celery":
        publisher = OffRequestPublisher(CeleryPublisher(make_celery(settings),
                                                        settings.task_queue))
    else:
        drainer = publisher = BackgroundDrainer(dispatcher, settings.outbox_sweep_seconds)
    return OutboxParts(Outbox(publisher, content), dispatcher, drainer)


def outbound_channels(settings: Settings, keyring: Keyring) -> dict[str, OutboundChannel]:
    # A keyring from before webhook signing has no key: webhooks then fail visibly (and
    # dead-letter) until `ketenpoort init` adds it, while everything else keeps working.
    channels: dict[str, OutboundChannel] = {
        WEBHOOK: WebhookChannel(keyring.signing.get(WEBHOOK_SIGNING_KEY),
                                settings.webhook_timeout_seconds,
                                ca_bundle=settings.webhook_ca_bundle or None,
                                egress=settings.webhook_egress_hosts),
    }
    if settings.smtp_host:
        channels[EMAIL] = EmailChannel(settings.smtp_host, settings.smtp_port,
                                       settings.smtp_sender, settings.smtp_starttls,
                                       ca_bundle=settings.smtp_ca_bundle or None)
    return channels


def publisher_for(settings: Settings) -> Publisher:
    """For processes without a drainer of their own (the CLI): Celery, or the next sweep."""
    if settings.task_mode == "celery":
        return CeleryPublisher(make_celery(settings), settings.task_queue)
    return NoPublisher()
