"""The ``ketenpoort`` console script: a thin shell over instance set-up and the services."""

from __future__ import annotations

from typing import Any

import click

from gateway.auditing.cli import audit_commands
from gateway.auth.cli import client_commands
from gateway.backup_cli import backup_commands
from gateway.container import Container, build_container
from gateway.db import current_revisions, head_revisions, make_engine
from gateway.db_cli import db_commands
from gateway.identity.cli import identity_commands, key_commands
from gateway.instance import DEMO_RIEC, create_demo_clients, initialise
from gateway.keys import KeyringError
from gateway.outbox.cli import channel_commands, outbox_commands
from gateway.policy.cli import covenant_commands, policy_commands
from gateway.retention.cli import retention_commands
from gateway.server import restrict_new_files, run
from gateway.settings import Settings, SettingsError
from gateway.workspace.cli import create_demo_users, user_commands


class LazyContainer:
    """The container, built on first use, so ``--help``, ``init`` and ``covenant check`` need
    no instance. Every command takes its services from it, as the HTTP views do."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: Container | None = None

    def __getattr__(self, name: str) -> Any:
        if self._built is None:
            try:
                self._built = build_container(self.settings)
            except KeyringError as exc:
                raise click.ClickException(str(exc)) from exc
        return getattr(self._built, name)


@click.group()
@click.version_option(package_name="ketenpoort", prog_name="ketenpoort",
                      message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Ketenpoort: the gateway of the regional chain approach against human trafficking.

    Settings come from KETENPOORT_* environment variables (see README).
    """
    try:
        ctx.obj = LazyContainer(Settings.from_env())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--demo", is_flag=True,
              help="Also create a client and a person for every demo partner.")
@click.pass_obj
def init(lazy: LazyContainer, demo: bool) -> None:
    """Create the instance: folder, keyring, database schema (idempotent)."""
    restrict_new_files()
    try:
        instance = initialise(lazy.settings)
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"instance ready at {instance.settings.instance_path}")
    if demo:
        path = create_demo_clients(instance, lazy.clients)
        click.echo(f"demo partner credentials (owner-readable only): {path}")
        people = create_demo_users(instance, DEMO_RIEC)
        click.echo(f"demo people, with their TOTP secrets (owner-readable only): {people}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@click.pass_obj
def serve(lazy: LazyContainer, host: str, port: int, workers: int, threads: int) -> None:
    """Run the gateway with gunicorn (embedded default when nothing else is configured)."""
    restrict_new_files()
    if not lazy.settings.keyring_path.exists():
        raise click.ClickException("no instance here yet; run 'ketenpoort init --demo' first")
    _refuse_an_old_schema(lazy.settings)
    run(lazy.settings, host=host, port=port, workers=workers, threads=threads)


def _refuse_an_old_schema(settings: Settings) -> None:
    """Migrations run once, as a job, before the new release serves; never by each worker."""
    engine = make_engine(settings.database_url)
    try:
        current = current_revisions(engine)
    finally:
        engine.dispose()
    if current != head_revisions():
        raise click.ClickException(
            f"the database schema is at {', '.join(current) or 'base'}, this release needs "
            f"{', '.join(head_revisions())}: run 'ketenpoort db upgrade' once, then serve")


main.add_command(audit_commands)
main.add_command(client_commands)
main.add_command(covenant_commands)
main.add_command(policy_commands)
main.add_command(channel_commands)
main.add_command(outbox_commands)
main.add_command(retention_commands)
main.add_command(key_commands)
main.add_command(identity_commands)
main.add_command(db_commands)
main.add_command(backup_commands)
main.add_command(user_commands)
