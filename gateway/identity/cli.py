"""``ketenpoort keys ...`` and ``ketenpoort identity shred``: a thin shell over the services.

The main CLI passes the container (:class:`gateway.container.Container`) as ``ctx.obj``.
"""

from __future__ import annotations

import getpass

import click

from gateway.auditing.operator import audit_operator_command
from gateway.container import Container
from gateway.db import rehearsal, transaction
from gateway.identity.rotation import (
    DEFAULT_BATCH_SIZE,
    MASTER_KEY,
    PSEUDONYM_KEY,
    SIGNING_KINDS,
    KeyRotation,
    RotationError,
    master_key_usage,
)
from gateway.keys import KeyringError
from gateway.keystore import keyring_sealer, seal_keyring_file, unseal_keyring_file
from gateway.ports import IdentityError


@click.group("keys")
def key_commands() -> None:
    """Rotate and retire keys; encrypt the keyring at rest."""


@key_commands.command("rotate")
@click.option("--kind", type=click.Choice(sorted(SIGNING_KINDS)), default=None,
              help="Rotate this signing key instead: the old one keeps verifying (tokens until "
                   "they expire, webhooks during the overlap, checkpoints for ever).")
@click.option("--dry-run", is_flag=True, help="With --kind: say what would change; change nothing.")
@click.option("--pseudonyms", is_flag=True,
              help="Rotate the pseudonym key instead (new deliveries use the new version once "
                   "the workers restart).")
@click.option("--resume", is_flag=True,
              help="Add no new version; finish re-wrapping under the active master version.")
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, type=int)
@click.option("--max-batches", type=int, default=None,
              help="Stop after this many batches; run again with --resume to continue.")
@click.pass_obj
def rotate(context: Container, *, kind: str | None, dry_run: bool, pseudonyms: bool,
           resume: bool, batch_size: int, max_batches: int | None) -> None:
    """Add a new master key version and re-wrap every subject's data key under it, online.

    With --kind token|webhook|checkpoint: replace that signing key, then restart the gateway,
    worker and sequencer processes so they sign with the new one."""
    rotation = context.key_rotation(getpass.getuser())
    try:
        if kind is not None:
            _rotate_signing(rotation, kind, dry_run=dry_run)
            return
        if dry_run:
            raise click.UsageError("--dry-run goes with --kind")
        if pseudonyms:
            version = rotation.rotate(PSEUDONYM_KEY)
            click.echo(f"{PSEUDONYM_KEY} version {version} is active; restart the workers")
            return
        if not resume:
            click.echo(f"{MASTER_KEY} version {rotation.rotate(MASTER_KEY)} is active")
        progress = rotation.rewrap(batch_size=batch_size, max_batches=max_batches)
    except RotationError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"re-wrapped {progress.rewrapped} data key(s) under version "
               f"{progress.target_version}; {progress.remaining} remaining")


def _rotate_signing(rotation: KeyRotation, kind: str, *, dry_run: bool) -> None:
    result = rotation.rotate_signing(kind, dry_run=dry_run)
    until = ("for ever" if result.verifies_until is None
             else f"until {result.verifies_until:%Y-%m-%dT%H:%M:%SZ}")
    if dry_run:
        rsa = "" if result.previous_rsa_key is None else f" (and RSA key {result.previous_rsa_key})"
        click.echo(f"dry run, nothing changed: the {kind} key {result.previous_key}{rsa} would "
                   f"be replaced and keep verifying {until}")
        return
    rsa = ("" if result.new_rsa_key is None
           else f" (RSA: {result.new_rsa_key}, replacing {result.previous_rsa_key})")
    click.echo(f"{kind} key {result.new_key}{rsa} is active; {result.previous_key} keeps "
               f"verifying {until}; restart the processes that sign ({_SIGNERS[kind]})")


_SIGNERS = {"token": "gateway", "webhook": "gateway and worker", "checkpoint": "sequencer"}


@key_commands.command("retire")
@click.option("--version", "version", type=int, help="The master key version to retire.")
@click.option("--kind", type=click.Choice(["token", "webhook"]), default=None,
              help="Instead: forget the replaced signing keys of this kind whose overlap ended.")
@click.option("--immediately", is_flag=True,
              help="With --kind: forget every replaced key now, overlap or not (a leaked key).")
@click.option("--dry-run", is_flag=True, help="Check that it could be retired; retire nothing.")
@click.pass_obj
def retire(context: Container, *, version: int | None, kind: str | None, immediately: bool,
           dry_run: bool) -> None:
    """Remove an old master key version; refused while any subject still uses it."""
    if (version is None) == (kind is None):
        raise click.UsageError("give --version or --kind")
    rotation = context.key_rotation(getpass.getuser())
    try:
        if kind is not None:
            count = rotation.retire_signing(kind, dry_run=dry_run, immediately=immediately)
            click.echo(f"dry run: {count} replaced {kind} key(s) can be retired" if dry_run
                       else f"{count} replaced {kind} key(s) retired")
            return
        assert version is not None  # noqa: S101  # checked above; narrows the type
        rotation.retire(version, dry_run=dry_run)
    except RotationError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"dry run: {MASTER_KEY} version {version} can be retired" if dry_run
               else f"{MASTER_KEY} version {version} retired")


@key_commands.command("seal")
@click.pass_obj
def seal(context: Container) -> None:
    """Encrypt the plaintext keyring under the configured keyring key or PKCS#11 token."""
    try:
        sealer = keyring_sealer(context.settings)
        if sealer is None:
            raise click.ClickException(
                "no keyring key configured: set KETENPOORT_KEYRING_KEY_FILE or "
                "KETENPOORT_PKCS11_MODULE and its companions")
        method = seal_keyring_file(context.settings.keyring_path, sealer)
    except KeyringError as error:
        raise click.ClickException(str(error)) from error
    # Named by method only: the entry holds no key material, nor the token's PIN or label.
    audit_operator_command(context.settings, {"action": "keys.sealed", "method": method})
    click.echo(f"keyring at {context.settings.keyring_path} is now encrypted at rest")


@key_commands.command("unseal")
@click.pass_obj
def unseal(context: Container) -> None:
    """Decrypt the keyring to a plaintext file (owner-readable only): to move it to another
    keyring key or PKCS#11 token, or off one. Remove the keyring key settings before the
    gateway starts again."""
    try:
        sealer = keyring_sealer(context.settings)
        if sealer is None:
            raise click.ClickException(
                "no keyring key configured: the one that sealed the keyring must be")
        method = unseal_keyring_file(context.settings.keyring_path, sealer)
    except KeyringError as error:
        raise click.ClickException(str(error)) from error
    audit_operator_command(context.settings, {"action": "keys.unsealed", "method": method})
    click.echo(f"keyring at {context.settings.keyring_path} is now plaintext (owner-readable "
               "only); seal it again, or remove the keyring key settings before starting")


@key_commands.command("status")
@click.pass_obj
def status(context: Container) -> None:
    """Live subjects per master key version, and each key's versions."""
    keyring = context.keyring
    with transaction(context.session_factory) as session:
        usage = master_key_usage(session)
    for name in (MASTER_KEY, PSEUDONYM_KEY):
        versions = sorted(keyring.symmetric[name])
        click.echo(f"{name}: versions {versions}, active {keyring.active_version(name)}")
    for version, count in sorted(usage.items()):
        click.echo(f"{MASTER_KEY} v{version}: {count} subject(s)")


@click.group("identity")
def identity_commands() -> None:
    """Manage the identity vault."""


@identity_commands.command("shred")
@click.option("--subject-id", required=True, help="The vault's subject id.")
@click.option("--dry-run", is_flag=True,
              help="Shred inside a transaction that is rolled back: check, change nothing.")
@click.pass_obj
def shred(context: Container, subject_id: str, dry_run: bool) -> None:
    """Destroy a subject's data key: its identity becomes unrecoverable. Audited.

    Then a new master key epoch: every live data key is re-wrapped and the old master key
    versions are retired, so copies of the shredded row in old database pages, the WAL or
    backups can no longer be opened; SQLite's freed pages are purged."""
    try:
        with (rehearsal if dry_run else transaction)(context.session_factory) as session:
            context.shredder.shred(session, subject_id)
            context.audit.append(session, {
                "action": "identity.shredded", "actor": {"operator": getpass.getuser()},
                "subject": context.vault.audit_pseudonym(subject_id),
            })
    except IdentityError as error:
        raise click.ClickException(str(error)) from error
    if dry_run:
        click.echo(f"dry run, nothing changed: subject {subject_id} can be shredded; a new "
                   f"{MASTER_KEY} epoch would follow")
        return
    epoch = context.after_shredding(getpass.getuser())()
    click.echo(f"subject {subject_id} shredded"
               + ("" if epoch is None else f"; {MASTER_KEY} epoch {epoch}, older ones retired"))
