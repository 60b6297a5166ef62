"""``ketenpoort retention run``: remove what the covenants' retention terms say has expired."""

from __future__ import annotations

import click

from gateway.container import Container
from gateway.progress import terminal_progress


@click.group("retention")
def retention_commands() -> None:
    """Apply the covenants' retention terms."""


@retention_commands.command("run")
@click.option("--dry-run", is_flag=True, help="Count what is due; remove nothing.")
@click.pass_obj
def run(context: Container, dry_run: bool) -> None:
    """Remove expired signals and closed cases; shred their identities (audited).

    After shredding, a new identity master key epoch retires the one that wrapped the
    shredded keys (see ``ketenpoort identity shred``)."""
    if dry_run:
        due = context.retention.due()
        click.echo(f"dry run, nothing removed: {due.signals} expired signal(s) and "
                   f"{due.cases} closed case(s) are due")
        return
    removed = context.retention.run(progress=terminal_progress())
    click.echo(f"removed {removed.signals} expired signal(s), {removed.cases} closed case(s), "
               f"{removed.reidentifications} re-identification request(s), "
               f"{removed.outbox_messages} settled outbox message(s)")
