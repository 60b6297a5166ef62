"""The migrations create exactly the schema the models describe, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from gateway import db
from gateway.cli import main
from gateway.models import metadata
from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL, POSTGRES_TEST_DB


def test_migrated_schema_matches_all_models(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": True})

    assert compare_metadata(context, metadata) == []


# --- the history and the `ketenpoort db` commands, on a database of their own --------------

# The heads a database recorded when it was migrated by the releases whose history still had one
# branch per room (as `ketenpoort init` left it: every head applied).
BRANCHED_RELEASE_HEADS = {
    "linkage_0003": ("audit_0001", "auth_0001", "identity_0002", "linkage_0003",
                     "meetings_0001", "outbox_0001", "policy_0001"),
    "linkage_0002": ("audit_0001", "auth_0001", "identity_0002", "linkage_0002",
                     "meetings_0001", "outbox_0001", "policy_0001"),
}
MIGRATIONS_DB = f"{POSTGRES_TEST_DB}_migrations"


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database that the test may migrate up and down."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    admin = db.make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATIONS_DB}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{MIGRATIONS_DB}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + MIGRATIONS_DB
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATIONS_DB}" WITH (FORCE)'))
    admin.dispose()


def _ketenpoort(url: str, *arguments: str) -> Result:
    result = CliRunner().invoke(main, list(arguments), env={"KETENPOORT_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _schema_differences(url: str) -> list[Any]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _head_and_previous() -> tuple[str, str]:
    """The newest migration and the one before it (the linear history's last step)."""
    script = ScriptDirectory(str(db.MIGRATIONS_PATH)).get_revision(db.head_revisions()[0])
    assert script is not None
    assert isinstance(script.down_revision, str)
    return script.revision, script.down_revision


def test_the_history_is_linear() -> None:
    assert len(db.head_revisions()) == 1, (
        "more than one Alembic head: set the new migration's down_revision to the newest one")


def test_db_commands_migrate_up_and_down_and_up_again(empty_database: str) -> None:
    url = empty_database
    head, previous = _head_and_previous()

    assert "base (empty schema) (behind" in _ketenpoort(url, "db", "current").output
    assert _ketenpoort(url, "db", "upgrade").output == f"database at {head}\n"
    assert _schema_differences(url) == []
    assert _ketenpoort(url, "db", "current").output == f"{head} (up to date)\n"

    stepped = _ketenpoort(url, "db", "downgrade", "--", "-1").output
    assert stepped == f"migrated from {head} down to {previous}\n"
    assert f"{previous} (behind: head is {head})" in _ketenpoort(url, "db", "current").output

    _ketenpoort(url, "db", "downgrade", "base")
    assert _tables(url) == set()

    _ketenpoort(url, "db", "upgrade")
    assert _schema_differences(url) == []


def test_a_dry_run_downgrade_changes_nothing(empty_database: str) -> None:
    url = empty_database
    _ketenpoort(url, "db", "upgrade")
    tables = _tables(url)

    result = _ketenpoort(url, "db", "downgrade", "--dry-run", "base")

    head, _previous = _head_and_previous()
    assert result.output.startswith(f"dry run, nothing changed: would migrate from {head} "
                                    "down to base")
    assert _tables(url) == tables
    assert _ketenpoort(url, "db", "current").output == f"{head} (up to date)\n"


def test_history_marks_what_the_database_has(empty_database: str) -> None:
    url = empty_database
    _ketenpoort(url, "db", "upgrade", "identity_0001")

    lines = _ketenpoort(url, "db", "history").output.splitlines()

    assert lines[0].startswith(f"  {_head_and_previous()[0]}: ")
    assert [line for line in lines if "(current)" in line] == [
        line for line in lines if line.startswith("* identity_0001 (current)")]
    assert sum(line.startswith("*") for line in lines) == 4
    assert lines[-1].startswith("* core_0001:")


@pytest.mark.parametrize("release", sorted(BRANCHED_RELEASE_HEADS))
def test_a_database_of_the_branched_history_upgrades(empty_database: str, release: str) -> None:
    url = empty_database
    _ketenpoort(url, "db", "upgrade", release)
    engine = db.make_engine(url)
    with engine.begin() as connection:  # what the release before the linear history recorded
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                           [{"v": head} for head in BRANCHED_RELEASE_HEADS[release]])
    engine.dispose()

    _ketenpoort(url, "db", "upgrade")

    head, _previous = _head_and_previous()
    assert _ketenpoort(url, "db", "current").output == f"{head} (up to date)\n"
    assert _schema_differences(url) == []


def test_a_migration_failure_is_a_clear_message(empty_database: str) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade", "no_such_revision"],
                                env={"KETENPOORT_DATABASE_URL": empty_database})

    assert result.exit_code == 1
    assert "migration failed:" in result.output
    assert "no_such_revision" in result.output


def test_serve_refuses_a_schema_older_than_its_release(tmp_path: Path) -> None:
    env = {"KETENPOORT_INSTANCE": str(tmp_path / "instance")}
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    assert CliRunner().invoke(main, ["db", "downgrade", "--", "-1"], env=env).exit_code == 0

    result = CliRunner().invoke(main, ["serve", "--port", "1"], env=env)

    head, previous = _head_and_previous()
    assert result.exit_code == 1
    assert (f"the database schema is at {previous}, this release needs {head}: run "
            "'ketenpoort db upgrade' once, then serve") in result.output
