"""``ketenpoort retention run``: remove what the covenants' retention terms say has expired."""

from __future__ import annotations

from typing import Protocol

import click
from sqlalchemy.orm import Session, sessionmaker

from audit.services import AuditLog
from gateway.clock import clock_starting_at
from gateway.identity.rotation import KeyRotation, ShredPurge
from gateway.identity.services import IdentityVault
from gateway.keys import Keyring
from gateway.linkage.services import ShredAndForget
from gateway.policy.covenants import PolicyBundle
from gateway.retention.services import RetentionService
from gateway.settings import Settings


class RetentionCommandContext(Protocol):
    settings: Settings
    keyring: Keyring
    session_factory: sessionmaker[Session]


@click.group("retention")
def retention_commands() -> None:
    """Apply the covenants' retention terms."""


@retention_commands.command("run")
@click.pass_obj
def run(context: RetentionCommandContext) -> None:
    """Remove expired signals and closed cases; shred their identities (audited).

    After shredding, a new identity master key epoch retires the one that wrapped the
    shredded keys (see ``ketenpoort identity shred``)."""
    bundle = PolicyBundle.load(context.settings.policies_path)
    rotation = KeyRotation(context.settings.keyring_path, context.session_factory, AuditLog(),
                           actor="retention")
    service = RetentionService(context.session_factory, lambda: bundle,
                               ShredAndForget(IdentityVault(context.keyring)), AuditLog(),
                               clock_starting_at(context.settings.clock_start),
                               after_shredding=ShredPurge(rotation))
    removed = service.run()
    click.echo(f"removed {removed.signals} expired signal(s), {removed.cases} closed case(s)")
