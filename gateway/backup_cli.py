"""``ketenpoort backup create|verify|restore``: database and keyring as one pair.

A thin shell over :mod:`gateway.backup`. It needs the settings only, not a working instance: a
restore must run where the database is empty or damaged. Creating and restoring are audited in
the log of the database concerned (a restore in the restored one, so it records its own past).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.auditing.operator import audit_operator_command
from gateway.backup import BackupError, Backups
from gateway.clock import clock_starting_at
from gateway.keys import KeyringError
from gateway.keystore import keyring_sealer
from gateway.progress import terminal_progress
from gateway.settings import Settings


@click.group("backup")
def backup_commands() -> None:
    """Back up and restore the database together with its keyring."""


def _backups(lazy: Any) -> Backups:
    settings: Settings = lazy.settings
    try:
        sealer = keyring_sealer(settings)
    except KeyringError as error:
        raise click.ClickException(str(error)) from error
    return Backups(settings, sealer, clock_starting_at(settings.clock_start),
                   progress=terminal_progress())


@backup_commands.command("create")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def create(lazy: Any, target: Path) -> None:
    """Write database, keyring and a manifest into the new folder TARGET."""
    try:
        manifest = _backups(lazy).create(target)
    except (BackupError, KeyringError) as error:
        raise click.ClickException(str(error)) from error
    audit_operator_command(lazy.settings, {"action": "backup.created",
                                           "audit_tree_size": manifest["audit"]["tree_size"]})
    click.echo(f"backup written to {target}: audit log of {manifest['audit']['tree_size']} "
               f"entries, schema {', '.join(manifest['schema_revision'])}")


@backup_commands.command("verify")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def verify(lazy: Any, source: Path) -> None:
    """Check a backup's checksums, that its keyring opens and that the pair belongs together."""
    try:
        manifest = _backups(lazy).verify(source)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup of {manifest['created_at']} is intact: audit log of "
               f"{manifest['audit']['tree_size']} entries")


@backup_commands.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--witness-state", "witness_states", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A witness's state file: refuse a backup older than what it has seen.")
@click.option("--force", is_flag=True,
              help="Restore even a backup older than a published checkpoint (witnesses will "
                   "report a rollback: tell them).")
@click.option("--dry-run", is_flag=True, help="Make every check; restore nothing.")
@click.pass_obj
def restore(lazy: Any, source: Path, witness_states: tuple[Path, ...], force: bool,
            dry_run: bool) -> None:
    """Replace the database and the keyring by the backup in SOURCE. Stop the gateway first."""
    try:
        plan = _backups(lazy).restore(source, witness_states=witness_states, force=force,
                                      dry_run=dry_run)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    size = plan.manifest["audit"]["tree_size"]
    if not plan.restored:
        click.echo(f"dry run, nothing changed: the backup of {plan.manifest['created_at']} "
                   f"(audit log of {size} entries) can be restored")
        return
    audit_operator_command(lazy.settings, {
        "action": "backup.restored", "audit_tree_size": size,
        "published_tree_size": plan.published_size, "forced": size < plan.published_size})
    click.echo(f"restored the backup of {plan.manifest['created_at']}; run 'ketenpoort db "
               "upgrade' if this release is newer, then start the gateway")
