"""``ketenpoort channel ...`` and ``ketenpoort outbox ...``: where deliveries go, and what failed.

The context object (``ctx.obj``) provides ``settings``, ``keyring``, ``session_factory`` and
``known_partners``, like the other command groups.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import click
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session, sessionmaker

from audit.services import AuditLog
from gateway.db import transaction
from gateway.identity.envelope import ContentSealer
from gateway.identity.services import IdentityVault
from gateway.keys import Keyring
from gateway.outbox.interfaces import STATES
from gateway.outbox.services import ChannelDirectory, Outbox
from gateway.outbox.wiring import WEBHOOK_SIGNING_KEY, build_outbox, publisher_for
from gateway.problems import Problem
from gateway.settings import Settings


class OutboxCommandContext(Protocol):
    settings: Settings
    keyring: Keyring
    session_factory: sessionmaker[Session]
    known_partners: frozenset[str]


@click.group("channel")
def channel_commands() -> None:
    """Configure where a partner's deliveries are pushed (the gateway inbox always holds them)."""


@channel_commands.command("set")
@click.option("--partner", "partner_id", required=True, help="Partner id.")
@click.option("--webhook", help="HTTPS URL to POST signed deliveries to; '' removes it.")
@click.option("--email", help="Address to mail deliveries to; '' removes it.")
@click.pass_obj
def set_channels(
    context: OutboxCommandContext, partner_id: str, webhook: str | None, email: str | None
) -> None:
    """Set a partner's webhook and/or e-mail channel (audited)."""
    with _problems(), transaction(context.session_factory) as session:
        view = ChannelDirectory().set(session, partner_id, webhook_url=webhook, email=email,
                                      known_partners=context.known_partners, audit=AuditLog(),
                                      egress=context.settings.webhook_egress_hosts)
    click.echo(json.dumps(view, indent=2))


@channel_commands.command("show")
@click.option("--partner", "partner_id", required=True, help="Partner id.")
@click.pass_obj
def show_channels(context: OutboxCommandContext, partner_id: str) -> None:
    """Print a partner's channels."""
    with transaction(context.session_factory) as session:
        click.echo(json.dumps(ChannelDirectory().show(session, partner_id), indent=2))


@channel_commands.command("signing-key")
@click.pass_obj
def signing_key(context: OutboxCommandContext) -> None:
    """Print the public key receivers verify webhook signatures with (PEM)."""
    key = context.keyring.signing.get(WEBHOOK_SIGNING_KEY)
    if key is None:
        raise click.ClickException("this keyring predates webhook signing; run 'ketenpoort init'")
    click.echo(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())


@click.group("outbox")
def outbox_commands() -> None:
    """Inspect the outbox, revive dead letters, drain it by hand."""


@outbox_commands.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only messages in this state.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_obj
def list_messages(context: OutboxCommandContext, state: str | None, limit: int) -> None:
    """Print outbox messages, one JSON object a line, oldest first."""
    with transaction(context.session_factory) as session:
        for view in _outbox(context).list(session, state, limit):
            click.echo(json.dumps(view))


@outbox_commands.command("retry")
@click.argument("message_id")
@click.pass_obj
def retry(context: OutboxCommandContext, message_id: str) -> None:
    """Give a dead message's failed channels a fresh set of attempts (audited)."""
    with _problems(), transaction(context.session_factory) as session:
        view = _outbox(context).retry(session, message_id, AuditLog())
    click.echo(json.dumps(view, indent=2))


@outbox_commands.command("drain")
@click.pass_obj
def drain(context: OutboxCommandContext) -> None:
    """Dispatch every due message once, in this process (no broker needed)."""
    parts = build_outbox(context.settings, context.keyring, context.session_factory,
                         IdentityVault(context.keyring), AuditLog())
    due = parts.dispatcher.due_messages()
    for message_id in due:
        parts.dispatcher.dispatch(message_id)
    click.echo(f"dispatched {len(due)} message(s)")


def _outbox(context: OutboxCommandContext) -> Outbox:
    return Outbox(publisher_for(context.settings), ContentSealer(context.keyring))


@contextmanager
def _problems() -> Iterator[None]:
    try:
        yield
    except Problem as problem:
        details = "; ".join(f"{e.pointer}: {e.detail}" for e in problem.errors)
        raise click.ClickException(details or problem.detail) from None
