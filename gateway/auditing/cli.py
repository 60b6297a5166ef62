"""``ketenpoort audit ...``: verify the live log, export it, run the sequencer.

The main CLI passes the container (:class:`gateway.container.Container`) as ``ctx.obj``.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.export import export_log
from audit.log import DEFAULT_ORIGIN
from audit.note import key_id, verifier_key
from gateway.auditing.integrity import pending_entries, stored_keys, verify_database
from gateway.auditing.runner import CHECKPOINT_KEY, audit_readiness
from gateway.container import Container
from gateway.db import transaction
from gateway.logs import configure_logging
from gateway.progress import terminal_progress


@click.group("audit")
def audit_commands() -> None:
    """Verify, export and seal the tamper-evident audit log."""


@audit_commands.command("verify")
@click.option("--public-key", "public_key_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust this PEM key instead of the keyring's (repeatable).")
@click.option("--stored-keys", "trust_stored", is_flag=True,
              help="Trust the keys the log stores (after a key rotation); proves integrity, "
                   "not who signed.")
@click.pass_obj
def verify(context: Container, public_key_files: tuple[Path, ...], trust_stored: bool
           ) -> None:
    """Recompute every leaf, tree node and checkpoint of the live log; exit 1 on tampering."""
    with transaction(context.session_factory) as session:
        if trust_stored:
            keys, trusted = stored_keys(session), False
        else:
            public_keys = ([_load_public_key(path) for path in public_key_files]
                           if public_key_files else _keyring_checkpoint_keys(context))
            keys, trusted = {key_id(key): key for key in public_keys}, True
        report = verify_database(session, keys, key_trusted=trusted, told=terminal_progress())
        pending = pending_entries(session)
    click.echo(report.summary())
    if pending:
        click.echo(f"{pending} entries still wait for the sequencer and were not checked")
    if not report.ok:
        raise SystemExit(1)


@audit_commands.command("export")
@click.option("--out", "out_path", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.pass_obj
def export(context: Container, out_path: Path) -> None:
    """Write the log for offline checking with 'python -m audit.verify'."""
    with transaction(context.session_factory) as session:
        summary = export_log(session, out_path, terminal_progress())
    click.echo(f"exported {summary.entries} entries and {summary.checkpoints} checkpoints "
               f"to {out_path}")


@audit_commands.command("sequencer")
@click.option("--once", is_flag=True, help="Integrate and sign what is pending, then exit.")
@click.option("--interval", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds between runs (default: the sequencer_interval_seconds setting).")
@click.pass_obj
def sequencer(context: Container, once: bool, interval: float | None) -> None:
    """Seal the log: give entries their tree positions and sign checkpoints, until stopped."""
    if once:
        integrated = context.sequencer_once().run_once()
        click.echo(f"integrated {integrated} entries")
        return
    configure_logging(context.settings.log_level)  # it runs as a service: JSON lines on stderr
    runner = context.sequencer_runner(interval)

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        runner.stop(timeout=0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"audit sequencer running every {runner.interval_seconds:g} s; "
               "stop with SIGTERM or Ctrl-C")
    runner.run_forever()


@audit_commands.command("health")
@click.pass_obj
def health(context: Container) -> None:
    """Exit 0 while every entry is sealed within the maximum lag, else 1 (a health check)."""
    ok, detail = audit_readiness(context.session_factory,
                                 context.settings.audit_max_lag_seconds, clock=context.clock.now)
    click.echo(json.dumps(detail))
    if not ok:
        raise SystemExit(1)


@audit_commands.command("public-key")
@click.pass_obj
def public_key(context: Container) -> None:
    """Print the checkpoint key as a C2SP signed-note verifier key (for witnesses), then as PEM
    (for 'python -m audit.verify --public-key')."""
    key = context.keyring.signing_key(CHECKPOINT_KEY).public_key()
    click.echo(verifier_key(DEFAULT_ORIGIN, key))
    click.echo(key.public_bytes(serialization.Encoding.PEM,
                                serialization.PublicFormat.SubjectPublicKeyInfo).decode(), nl=False)


def _keyring_checkpoint_keys(context: Container) -> list[Ed25519PublicKey]:
    """The current checkpoint key and every one a rotation replaced: old checkpoints verify."""
    return [context.keyring.signing_key(CHECKPOINT_KEY).public_key(),
            *(key.public_key for key in context.keyring.previous_keys(CHECKPOINT_KEY))]


def _load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise click.ClickException(f"{path} holds no Ed25519 public key")
    return key
