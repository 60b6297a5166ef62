"""Backup and restore of database and keyring as a pair, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from audit.models import AuditEntry
from gateway import db
from gateway.auth.models import OAuthClient
from gateway.backup import KEYRING_FILE, MANIFEST
from gateway.cli import main
from gateway.keys import Keyring
from gateway.progress import terminal_progress
from gateway.settings import Settings
from tests.conftest import BACKENDS, instance_database


@dataclass
class Instance:
    backend: str
    settings: Settings

    def cli(self, *args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(main, list(args))
        assert (result.exit_code == 0) is ok, result.output
        return result.output

    def rows(self, table: type[AuditEntry | OAuthClient]) -> int:
        engine = db.make_engine(self.settings.database_url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(select(func.count()).select_from(table))
                           .scalar_one())
        finally:
            engine.dispose()

    def sealed_log(self) -> None:
        """Something audited, then sealed into a checkpoint a witness may fetch."""
        self.cli("keys", "rotate", "--kind", "token")
        self.cli("audit", "sequencer", "--once")


@pytest.fixture(params=BACKENDS)
def instance(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             test_policies_path: Path) -> Iterator[Instance]:
    monkeypatch.setenv("KETENPOORT_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("KETENPOORT_POLICIES_PATH", str(test_policies_path))
    with instance_database(request.param, monkeypatch, "backup"):
        created = Instance(request.param, Settings.from_env())
        created.cli("init")
        yield created


def _backed_up(instance: Instance, folder: Path) -> Path:
    """A backup of an instance whose log holds a published checkpoint."""
    instance.sealed_log()
    instance.cli("backup", "create", str(folder))
    return folder


def _manifest(folder: Path) -> dict[str, object]:
    return dict(json.loads((folder / MANIFEST).read_text()))


def test_a_backup_holds_the_pair_with_checksums_and_the_audit_head(
    instance: Instance, tmp_path: Path
) -> None:
    target = _backed_up(instance, tmp_path / "backup")

    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["backend"] == instance.backend
    assert manifest["audit"]["tree_size"] >= 1
    assert manifest["schema_revision"] == list(db.head_revisions())
    for name, checksum in manifest["files"].items():
        assert hashlib.sha256((target / name).read_bytes()).hexdigest() == checksum
        assert oct((target / name).stat().st_mode & 0o777) == "0o600"
    assert (target / KEYRING_FILE).read_bytes() == instance.settings.keyring_path.read_bytes()
    assert "is intact" in instance.cli("backup", "verify", str(target))
    refused = instance.cli("backup", "create", str(target), ok=False)
    assert "not empty" in refused


def test_a_restore_brings_back_database_and_keyring_and_is_audited(
    instance: Instance, tmp_path: Path
) -> None:
    backup = _backed_up(instance, tmp_path / "backup")
    entries_at_backup = instance.rows(AuditEntry) - 1  # the backup.created entry came after
    keyring_at_backup = instance.settings.keyring_path.read_bytes()
    # Changes after the backup, not yet sealed into a checkpoint: nothing was published.
    instance.cli("keys", "rotate", "--kind", "webhook")
    instance.cli("client", "create", "--partner", "gemeente-vlaardingen", "--scopes",
                 "inbox:read")
    assert instance.rows(OAuthClient) == 1

    rehearsal = instance.cli("backup", "restore", "--dry-run", str(backup))
    assert rehearsal.startswith("dry run, nothing changed")
    assert instance.settings.keyring_path.read_bytes() != keyring_at_backup

    assert "restored" in instance.cli("backup", "restore", str(backup))
    assert instance.settings.keyring_path.read_bytes() == keyring_at_backup
    assert instance.rows(OAuthClient) == 0  # the client made after the backup is gone
    assert instance.rows(AuditEntry) == entries_at_backup + 1  # the restore audits itself
    assert instance.cli("audit", "verify").startswith("OK")


def test_a_database_older_than_a_published_checkpoint_is_refused_unless_forced(
    instance: Instance, tmp_path: Path
) -> None:
    backup = _backed_up(instance, tmp_path / "backup")
    backed_up = _manifest(backup)["audit"]
    assert isinstance(backed_up, dict)
    instance.sealed_log()  # a newer checkpoint, fetched by witnesses since

    refused = instance.cli("backup", "restore", str(backup), ok=False)
    assert "rollback" in refused
    assert "restored" in instance.cli("backup", "restore", "--force", str(backup))

    # The live database is now the old one; a witness remembers more than it holds.
    witness = tmp_path / "witness.json"
    witness.write_text(json.dumps({"format": "ketenpoort-witness/1", "checkpoint": {
        "tree_size": backed_up["tree_size"] + 5}}))
    refused = instance.cli("backup", "restore", "--witness-state", str(witness), str(backup),
                           ok=False)
    assert "rollback" in refused
    witness.write_text(json.dumps({"format": "ketenpoort-witness/1", "checkpoint": {
        "tree_size": backed_up["tree_size"]}}))
    instance.cli("backup", "restore", "--witness-state", str(witness), str(backup))


def test_a_changed_file_is_refused(instance: Instance, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    instance.cli("backup", "create", str(backup))
    database = next(name for name in _manifest(backup)["files"]  # type: ignore[attr-defined]
                    if name != KEYRING_FILE)
    with (backup / database).open("ab") as handle:
        handle.write(b"\0")

    refused = instance.cli("backup", "restore", str(backup), ok=False)
    assert "does not match its checksum" in refused


def test_a_keyring_of_another_instance_does_not_pass_as_the_pair(
    instance: Instance, tmp_path: Path
) -> None:
    if instance.backend != "sqlite":
        pytest.skip("a PostgreSQL dump is checked against the live database it was taken from")
    backup = _backed_up(instance, tmp_path / "backup")
    Keyring.generate().save(backup / KEYRING_FILE)
    manifest = json.loads((backup / MANIFEST).read_text())
    manifest["files"][KEYRING_FILE] = hashlib.sha256(
        (backup / KEYRING_FILE).read_bytes()).hexdigest()
    (backup / MANIFEST).write_text(json.dumps(manifest))

    refused = instance.cli("backup", "verify", str(backup), ok=False)
    assert "do not belong together" in refused
    assert "checkpoint key" in refused


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only() -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        show = terminal_progress(stream)
        show("database", 1, 4)
        show("database", 4, 4)
    assert terminal.getvalue() == "\rdatabase:  25% (1/4)\rdatabase: 100% (4/4)\n"
    assert pipe.getvalue() == ""
