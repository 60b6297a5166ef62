"""Backup and restore of an instance: its database and its keyring, always as one pair.

A backup is a folder: ``keyring.json`` (the file as it lies on disk, so a sealed keyring stays
sealed), the database (SQLite: a copy made with SQLite's online backup API, consistent while
the gateway writes; PostgreSQL: ``pg_dump --format=custom``) and ``manifest.json``: the format,
the moment, SHA-256 checksums of both files, the schema revision and the audit log's newest
checkpoint (tree size, root hash, key id).

The two belong together: every checkpoint key the database's log names and every identity
master key version its subjects are sealed under must be in the keyring
(:func:`pairing_problems`). ``create`` checks that before it writes the manifest; ``restore``
checks the checksums, that the keyring opens, and that the database is not older than a
checkpoint already published: the live database's newest one, and any witness state given.
Witnesses remember the newest checkpoint they verified and report a rollback when shown a
smaller log, so restoring an older database is refused unless forced.

The keyring is held under its lock (the one rotations take) while the pair is copied, so no
rotation or new master key epoch falls between the two copies.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from audit.models import AuditSigningKey, Checkpoint
from audit.note import key_id
from gateway.auditing.runner import CHECKPOINT_KEY
from gateway.clock import Clock
from gateway.db import current_revisions, make_engine
from gateway.identity.rotation import MASTER_KEY, master_key_usage
from gateway.keys import Keyring, KeyringError, KeyringSealer
from gateway.progress import Progress, no_progress
from gateway.settings import Settings

FORMAT = "ketenpoort-backup/1"
MANIFEST = "manifest.json"
KEYRING_FILE = "keyring.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.dump"
SQLITE_PAGES_PER_STEP = 1024
WITNESS_STATE_FORMAT = "ketenpoort-witness/1"


class BackupError(RuntimeError):
    """The backup cannot be made or restored; the message says why."""


@dataclass(frozen=True)
class RestorePlan:
    """What a restore found, and whether it went ahead."""

    manifest: dict[str, Any]
    published_size: int
    restored: bool


@dataclass
class Backups:
    settings: Settings
    sealer: KeyringSealer | None
    clock: Clock
    progress: Progress = field(default=no_progress)

    @property
    def _is_sqlite(self) -> bool:
        return self.settings.database_url.startswith("sqlite")

    @property
    def _database_file(self) -> str:
        return SQLITE_FILE if self._is_sqlite else POSTGRES_FILE

    def create(self, target: Path) -> dict[str, Any]:
        """Write a backup of database and keyring into the empty folder ``target``."""
        if target.exists() and any(target.iterdir()):
            raise BackupError(f"{target} is not empty; a backup goes into a folder of its own")
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._keyring_locked():
            keyring = Keyring.read(self.settings.keyring_path, self.sealer)
            _copy_private(self.settings.keyring_path, target / KEYRING_FILE)
            database = target / self._database_file
            if self._is_sqlite:
                self._sqlite_snapshot(_sqlite_path(self.settings.database_url), database)
            else:
                self._pg_dump(database)
        engine = self._engine_on(database)
        try:
            with Session(engine) as session:
                problems = pairing_problems(session, keyring)
                head = _audit_head(session)
            revision = list(current_revisions(engine))
        finally:
            engine.dispose()
        if problems:
            raise BackupError("database and keyring do not belong together: "
                              + "; ".join(problems))
        manifest = {
            "format": FORMAT,
            "created_at": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "backend": "sqlite" if self._is_sqlite else "postgresql",
            "schema_revision": revision,
            "audit": head,
            "files": {name: _sha256(target / name, self.progress)
                      for name in (KEYRING_FILE, self._database_file)},
            "keyring_sealed": self.sealer is not None,
        }
        _write_private(target / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        return manifest

    def restore(self, source: Path, *, witness_states: Sequence[Path] = (), force: bool = False,
                dry_run: bool = False) -> RestorePlan:
        """Put the backup in ``source`` back as the instance's database and keyring.

        Refused when a file does not match its checksum, the keyring does not open, the pair
        does not belong together, or the backup's audit log is smaller than a checkpoint
        already published (``force`` overrides only that last refusal). A dry run checks
        everything and changes nothing."""
        manifest = self.verify(source)
        published = max([self._live_checkpoint_size(), *map(_witnessed_size, witness_states)])
        backed_up = manifest["audit"]["tree_size"]
        if backed_up < published and not force:
            raise BackupError(
                f"the backup's audit log has {backed_up} entries, but a checkpoint of "
                f"{published} was already published: witnesses would report a rollback. "
                "Restore a newer backup, or --force and tell the witnesses")
        if dry_run:
            return RestorePlan(manifest, published, restored=False)
        with self._keyring_locked():
            if self._is_sqlite:
                self._sqlite_copy(source / SQLITE_FILE, _sqlite_path(self.settings.database_url))
            else:
                self._pg_restore(source / POSTGRES_FILE)
            _copy_private(source / KEYRING_FILE, self.settings.keyring_path)
        return RestorePlan(manifest, published, restored=True)

    def verify(self, source: Path) -> dict[str, Any]:
        """The manifest, once the files match it, the keyring opens and (SQLite) the pair
        belongs together."""
        try:
            manifest = json.loads((source / MANIFEST).read_text())
        except (OSError, ValueError) as error:
            raise BackupError(f"{source} holds no readable {MANIFEST}: {error}") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{source / MANIFEST} is not a {FORMAT} manifest")
        expected = "sqlite" if self._is_sqlite else "postgresql"
        if manifest["backend"] != expected:
            raise BackupError(f"a {manifest['backend']} backup cannot go into this {expected} "
                              "database")
        for name, checksum in manifest["files"].items():
            if _sha256(source / name, self.progress) != checksum:
                raise BackupError(f"{name} does not match its checksum in the manifest")
        try:
            keyring = Keyring.read(source / KEYRING_FILE, self.sealer)
        except KeyringError as error:
            raise BackupError(f"the backup's keyring does not open: {error}") from None
        if self._is_sqlite:
            engine = self._engine_on(source / SQLITE_FILE)
            try:
                with Session(engine) as session:
                    problems = pairing_problems(session, keyring)
            finally:
                engine.dispose()
            if problems:
                raise BackupError("database and keyring do not belong together: "
                                  + "; ".join(problems))
        return dict(manifest)

    def _sqlite_copy(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst, pages=SQLITE_PAGES_PER_STEP,
                       progress=lambda _status, remaining, total: self.progress(
                           "database", total - remaining, total))
        target.chmod(0o600)

    def _sqlite_snapshot(self, source: Path, target: Path) -> None:
        """A backup copy as one self-contained file: no write-ahead log beside it."""
        self._sqlite_copy(source, target)
        with contextlib.closing(sqlite3.connect(target)) as copy:
            copy.execute("PRAGMA journal_mode=DELETE")

    def _pg_dump(self, target: Path) -> None:
        self._run_postgres_tool(["pg_dump", "--format=custom", "--no-owner", f"--file={target}"])
        target.chmod(0o600)

    def _pg_restore(self, source: Path) -> None:
        self._run_postgres_tool(["pg_restore", "--clean", "--if-exists", "--no-owner",
                                 "--single-transaction", "--exit-on-error", "--dbname"],
                                after=[str(source)])

    def _run_postgres_tool(self, arguments: list[str], after: Sequence[str] = ()) -> None:
        tool = shutil.which(arguments[0])
        if tool is None:
            raise BackupError(f"{arguments[0]} is not on PATH; install the PostgreSQL client")
        url = make_url(self.settings.database_url)
        # The password goes through the environment, never the command line (ps shows that).
        environment = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
        conninfo = url.set(drivername="postgresql", password=None).render_as_string(
            hide_password=False)
        result = subprocess.run(  # noqa: S603  # the PostgreSQL client, fixed arguments
            [tool, *arguments[1:], conninfo, *after], env=environment, capture_output=True,
            text=True, check=False)
        if result.returncode != 0:
            raise BackupError(f"{arguments[0]} failed: {result.stderr.strip()[-2000:]}")

    def _engine_on(self, database: Path) -> Engine:
        if database.name == SQLITE_FILE:
            return create_engine("sqlite://", creator=lambda: sqlite3.connect(
                f"file:{database}?mode=ro", uri=True))
        # A PostgreSQL dump is checked against the live database it was just taken from.
        return make_engine(self.settings.database_url)

    def _live_checkpoint_size(self) -> int:
        """The newest checkpoint of the database about to be replaced: it was published."""
        if self._is_sqlite and not _sqlite_path(self.settings.database_url).exists():
            return 0
        engine = make_engine(self.settings.database_url)
        try:
            with Session(engine) as session:
                return int(_audit_head(session)["tree_size"])
        except SQLAlchemyError:
            return 0  # no database, or no schema yet: nothing was published from it
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def _keyring_locked(self) -> Iterator[None]:
        lock_path = self.settings.keyring_path.with_suffix(".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def pairing_problems(session: Session, keyring: Keyring) -> list[str]:
    """Why the database cannot be read with this keyring; empty when they belong together."""
    held = {key_id(key) for key in [
        keyring.signing_key(CHECKPOINT_KEY).public_key(),
        *(previous.public_key for previous in keyring.previous_keys(CHECKPOINT_KEY))]}
    problems = [f"checkpoint key {stored} is not in the keyring"
                for stored in session.scalars(select(AuditSigningKey.key_id)) if stored not in held]
    versions = set(keyring.symmetric.get(MASTER_KEY, {}))
    problems += [f"{count} subject(s) are sealed under {MASTER_KEY} version {version}, which "
                 "the keyring lacks"
                 for version, count in sorted(master_key_usage(session).items())
                 if version not in versions]
    return problems


def _audit_head(session: Session) -> dict[str, Any]:
    newest = session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)
                             ).first()
    if newest is None:
        return {"tree_size": 0, "root_hash": None, "key_id": None, "issued_at": None}
    return {"tree_size": newest.tree_size,
            "root_hash": base64.b64encode(newest.root_hash).decode(),
            "key_id": newest.key_id,
            "issued_at": newest.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _witnessed_size(state_path: Path) -> int:
    """The tree size of the checkpoint a witness (``python -m audit.witness``) remembers."""
    try:
        state = json.loads(state_path.read_text())
        if state.get("format") != WITNESS_STATE_FORMAT:
            raise BackupError(f"{state_path} is not a {WITNESS_STATE_FORMAT} state file")
        return int(state["checkpoint"]["tree_size"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{state_path}: not a readable witness state ({error})") from None


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sha256(path: Path, progress: Progress) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            done += len(chunk)
            progress(f"checksum {path.name}", done, total)
    return digest.hexdigest()


def _copy_private(source: Path, target: Path) -> None:
    """Copy atomically into a file only the owner can read (keyrings, database copies)."""
    _write_private(target, source.read_bytes())


def _write_private(target: Path, content: str | bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content.encode() if isinstance(content, str) else content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
