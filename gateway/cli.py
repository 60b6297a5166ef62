"""The ``ketenpoort`` console script: a thin shell over instance set-up and the services."""

from __future__ import annotations

from typing import Any

import click

from gateway.auditing.cli import audit_commands
from gateway.auth.cli import client_commands
from gateway.identity.cli import identity_commands, key_commands
from gateway.instance import DEMO_RIEC, create_demo_clients, initialise, open_instance
from gateway.keys import KeyringError
from gateway.outbox.cli import channel_commands, outbox_commands
from gateway.policy.cli import covenant_commands, policy_commands
from gateway.retention.cli import retention_commands
from gateway.server import restrict_new_files, run
from gateway.settings import Settings, SettingsError
from gateway.workspace.cli import create_demo_users, user_commands


class LazyInstance:
    """Opens the instance on first use, so ``--help`` and ``covenant check`` need none."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._opened: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._opened is None:
            try:
                self._opened = open_instance(self.settings)
            except KeyringError as exc:
                raise click.ClickException(str(exc)) from exc
        return getattr(self._opened, name)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Ketenpoort: the gateway of the regional chain approach against human trafficking.

    Settings come from KETENPOORT_* environment variables (see README).
    """
    try:
        ctx.obj = LazyInstance(Settings.from_env())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--demo", is_flag=True,
              help="Also create a client and a person for every demo partner.")
@click.pass_obj
def init(lazy: LazyInstance, demo: bool) -> None:
    """Create the instance: folder, keyring, database schema (idempotent)."""
    restrict_new_files()
    instance = initialise(lazy.settings)
    click.echo(f"instance ready at {instance.settings.instance_path}")
    if demo:
        path = create_demo_clients(instance)
        click.echo(f"demo partner credentials (owner-readable only): {path}")
        people = create_demo_users(instance, DEMO_RIEC)
        click.echo(f"demo people, with their TOTP secrets (owner-readable only): {people}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@click.pass_obj
def serve(lazy: LazyInstance, host: str, port: int, workers: int, threads: int) -> None:
    """Run the gateway with gunicorn (embedded default when nothing else is configured)."""
    restrict_new_files()
    if not lazy.settings.keyring_path.exists():
        raise click.ClickException("no instance here yet; run 'ketenpoort init --demo' first")
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    click.echo(f"workspace for people: http://{shown}:{port}/werkruimte/")
    run(lazy.settings, host=host, port=port, workers=workers, threads=threads)


main.add_command(audit_commands)
main.add_command(client_commands)
main.add_command(covenant_commands)
main.add_command(policy_commands)
main.add_command(channel_commands)
main.add_command(outbox_commands)
main.add_command(retention_commands)
main.add_command(key_commands)
main.add_command(identity_commands)
main.add_command(user_commands)
