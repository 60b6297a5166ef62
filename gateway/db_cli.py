"""``ketenpoort db upgrade|downgrade|current|history``: the schema migrations, by hand.

A thin shell over :mod:`gateway.db`. It needs the database only (``KETENPOORT_DATABASE_URL``),
not the keyring, so a migration job can run before or apart from ``ketenpoort init``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from alembic.util import CommandError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway import db


@click.group("db")
def db_commands() -> None:
    """Migrate the database schema (one linear Alembic history)."""


@contextmanager
def _engine(lazy: Any) -> Iterator[Engine]:
    engine = db.make_engine(lazy.settings.database_url)
    try:
        yield engine
    except (CommandError, SQLAlchemyError, RuntimeError) as error:
        raise click.ClickException(f"migration failed: {error}") from error
    finally:
        engine.dispose()


def _describe(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) or "base (empty schema)"


@db_commands.command("upgrade")
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(lazy: Any, revision: str) -> None:
    """Migrate up to REVISION (default: head, the newest)."""
    with _engine(lazy) as engine:
        db.upgrade(engine, revision)
        click.echo(f"database at {_describe(db.current_revisions(engine))}")


@db_commands.command("downgrade")
@click.argument("revision")
@click.option("--dry-run", is_flag=True,
              help="Migrate inside a transaction, report where it ends, and roll it back.")
@click.pass_obj
def downgrade(lazy: Any, revision: str, dry_run: bool) -> None:
    """Migrate down to REVISION: a revision id, -N steps back, or base (drops every table).

    Data in the tables a step removes is lost: back the database up first."""
    with _engine(lazy) as engine:
        before = db.current_revisions(engine)
        reached = db.downgrade(engine, revision, dry_run=dry_run)
    prefix = "dry run, nothing changed: would migrate" if dry_run else "migrated"
    click.echo(f"{prefix} from {_describe(before)} down to {_describe(reached)}")


@db_commands.command("current")
@click.pass_obj
def current(lazy: Any) -> None:
    """The revision the database is at, and whether it is the newest."""
    with _engine(lazy) as engine:
        revisions = db.current_revisions(engine)
    newest = db.head_revisions()
    state = "up to date" if revisions == newest else f"behind: head is {_describe(newest)}"
    click.echo(f"{_describe(revisions)} ({state})")


@db_commands.command("history")
@click.pass_obj
def history(lazy: Any) -> None:
    """Every migration, newest first; * marks those the database has."""
    with _engine(lazy) as engine:
        click.echo("\n".join(map(_history_line, db.history(engine))))


def _history_line(revision: db.Revision) -> str:
    mark = "*" if revision.applied else " "
    return f"{mark} {revision.revision}{' (current)' if revision.current else ''}: " + (
        revision.summary)
