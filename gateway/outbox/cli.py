"""``ketenpoort channel ...`` and ``ketenpoort outbox ...``: where deliveries go, and what failed.

The main CLI passes the container (:class:`gateway.container.Container`) as ``ctx.obj``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click
from cryptography.hazmat.primitives import serialization

from gateway.container import Container
from gateway.db import transaction
from gateway.outbox.interfaces import STATES, WEBHOOK_SIGNING_KEY
from gateway.problems import Problem


@click.group("channel")
def channel_commands() -> None:
    """Configure where a partner's deliveries are pushed (the gateway inbox always holds them)."""


@channel_commands.command("set")
@click.option("--partner", "partner_id", required=True, help="Partner id.")
@click.option("--webhook", help="HTTPS URL to POST signed deliveries to; '' removes it.")
@click.option("--email", help="Address to mail deliveries to; '' removes it.")
@click.pass_obj
def set_channels(
    context: Container, partner_id: str, webhook: str | None, email: str | None
) -> None:
    """Set a partner's webhook and/or e-mail channel (audited)."""
    with _problems(), transaction(context.session_factory) as session:
        view = context.channels.set(session, partner_id, webhook_url=webhook, email=email,
                                    known_partners=context.known_partners, audit=context.audit,
                                    egress=context.settings.webhook_egress_hosts)
    click.echo(json.dumps(view, indent=2))


@channel_commands.command("show")
@click.option("--partner", "partner_id", required=True, help="Partner id.")
@click.pass_obj
def show_channels(context: Container, partner_id: str) -> None:
    """Print a partner's channels."""
    with transaction(context.session_factory) as session:
        click.echo(json.dumps(context.channels.show(session, partner_id), indent=2))


@channel_commands.command("signing-key")
@click.pass_obj
def signing_key(context: Container) -> None:
    """Print the public key receivers verify webhook signatures with (PEM)."""
    key = context.keyring.signing.get(WEBHOOK_SIGNING_KEY)
    if key is None:
        raise click.ClickException("this keyring predates webhook signing; run 'ketenpoort init'")
    click.echo(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())


@channel_commands.command("webhook-secret")
@click.option("--partner", "partner_id", required=True, help="Partner id.")
@click.pass_obj
def webhook_secret(context: Container, partner_id: str) -> None:
    """Print the partner's Standard Webhooks secret (whsec_...): hand it to that partner only."""
    if partner_id not in context.known_partners:
        raise click.ClickException(f"unknown partner {partner_id!r}")
    click.echo(context.webhook_secrets.shown(partner_id))


@click.group("outbox")
def outbox_commands() -> None:
    """Inspect the outbox, revive dead letters, drain it by hand."""


@outbox_commands.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only messages in this state.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_obj
def list_messages(context: Container, state: str | None, limit: int) -> None:
    """Print outbox messages, one JSON object a line, oldest first."""
    with transaction(context.session_factory) as session:
        for view in context.outbox.list(session, state, limit):
            click.echo(json.dumps(view))


@outbox_commands.command("retry")
@click.argument("message_id")
@click.pass_obj
def retry(context: Container, message_id: str) -> None:
    """Give a dead message's failed channels a fresh set of attempts (audited)."""
    with _problems(), transaction(context.session_factory) as session:
        view = context.outbox.retry(session, message_id, context.audit)
    click.echo(json.dumps(view, indent=2))


@outbox_commands.command("drain")
@click.pass_obj
def drain(context: Container) -> None:
    """Dispatch every due message once, in this process (no broker needed)."""
    dispatcher = context.outbox_dispatcher
    due = dispatcher.due_messages()
    for message_id in due:
        dispatcher.dispatch(message_id)
    click.echo(f"dispatched {len(due)} message(s)")


@contextmanager
def _problems() -> Iterator[None]:
    try:
        yield
    except Problem as problem:
        details = "; ".join(f"{e.pointer}: {e.detail}" for e in problem.errors)
        raise click.ClickException(details or problem.detail) from None
