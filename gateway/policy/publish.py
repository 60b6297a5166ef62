"""Publishing a covenant version: check it, record and audit it, then put it where gateways look.

A publication is refused, with nothing written and nothing audited, when the file has any
problem, when the policies tree would not load with it, or when its version is not greater
than the one in force. Otherwise the audit entry and the publication row are written in one
transaction, and the file replaces the old one atomically (``os.replace``) just before that
transaction commits; if the commit fails, the old file is put back. Running gateways pick the
new bundle up by themselves (:mod:`gateway.policy.reload`).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gateway.db import transaction
from gateway.policy.covenants import (
    COVENANTS_DIRECTORY,
    CovenantError,
    PolicyBundle,
    YamlSource,
    read_covenant_file,
)
from gateway.policy.interfaces import PolicyEngineError
from gateway.policy.models import CovenantPublication
from gateway.policy.regopy_engine import RegopyEngine
from gateway.ports import AuditAppender

PUBLISHED_ACTION = "covenant.published"
VERSION_PATTERN = re.compile(r"\d+(\.\d+)*")



@dataclasses.dataclass(frozen=True)
class Publication:
    covenant: str
    version: str
    previous_version: str | None
    old_bundle_hash: str
    new_bundle_hash: str
    path: Path
    audit_event_id: str


@dataclasses.dataclass(frozen=True)
class CovenantPublisher:
    """Publishes covenant files into ``policies_path``; ``operator`` names who did it."""

    policies_path: Path
    session_factory: sessionmaker[Session]
    audit: AuditAppender

    def publish(self, file: Path, operator: str) -> Publication:
        with _exclusive(self.policies_path / COVENANTS_DIRECTORY):
            current = _current_bundle(self.policies_path)
            source = _sound_source(file, current)
            covenant_id, version = source.document["id"], source.document["version"]
            in_force = current.covenant(covenant_id)
            previous_version = None if in_force is None else in_force.version
            _check_newer(source, version, previous_version)
            content = file.read_bytes()
            target = self.policies_path / COVENANTS_DIRECTORY / f"{covenant_id}.yaml"
            candidate = _candidate_bundle(self.policies_path, target, content)
            publication = Publication(
                covenant=covenant_id, version=version, previous_version=previous_version,
                old_bundle_hash=current.hash, new_bundle_hash=candidate.hash, path=target,
                audit_event_id="",
            )
            event_id = self._record_and_replace(publication, content, operator)
        return dataclasses.replace(publication, audit_event_id=event_id)

    def _record_and_replace(self, publication: Publication, content: bytes, operator: str) -> str:
        staged = _stage(publication.path, content)
        previous_content = publication.path.read_bytes() if publication.path.exists() else None
        replaced = False
        try:
            with transaction(self.session_factory) as session:
                event_id = self._record(session, publication, content, operator)
                session.flush()  # a duplicate version fails here, before the file moves
                os.replace(staged, publication.path)
                replaced = True
        except BaseException:
            staged.unlink(missing_ok=True)
            if replaced:
                _restore(publication.path, previous_content)
            raise
        return event_id

    def _record(
        self, session: Session, publication: Publication, content: bytes, operator: str
    ) -> str:
        file_sha256 = hashlib.sha256(content).hexdigest()
        event_id = self.audit.append(
            session,
            {
                "action": PUBLISHED_ACTION,
                "covenant": publication.covenant,
                "version": publication.version,
                "previous_version": publication.previous_version,
                "old_bundle_hash": publication.old_bundle_hash,
                "new_bundle_hash": publication.new_bundle_hash,
                "file_sha256": file_sha256,
                "operator": operator,
            },
        )
        session.add(
            CovenantPublication(
                id=str(uuid.uuid4()), covenant=publication.covenant, version=publication.version,
                previous_version=publication.previous_version,
                old_bundle_hash=publication.old_bundle_hash,
                new_bundle_hash=publication.new_bundle_hash, file_sha256=file_sha256,
                operator=operator, audit_event_id=event_id,
            )
        )
        return event_id


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One publication at a time per policies tree, across processes (a lock on the folder)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _current_bundle(policies_path: Path) -> PolicyBundle:
    try:
        return PolicyBundle.load(policies_path)
    except CovenantError as error:
        refusal = f"{policies_path}: the policies in force do not load; repair them first"
        raise CovenantError([refusal, *error.messages]) from error


def _sound_source(file: Path, current: PolicyBundle) -> YamlSource:
    source, problems = read_covenant_file(file, current.partner_ids())
    if source is None or problems:
        raise CovenantError(problems)
    return source


def _check_newer(source: YamlSource, version: str, previous_version: str | None) -> None:
    if not VERSION_PATTERN.fullmatch(version):
        raise CovenantError(
            [source.at(("version",), f"version {version!r} must be dotted numbers, e.g. 2026.2, "
                                     "so that publications can be ordered")]
        )
    if previous_version is None or not VERSION_PATTERN.fullmatch(previous_version):
        return
    if _version_key(version) <= _version_key(previous_version):
        raise CovenantError(
            [source.at(("version",), f"version {version!r} is not greater than version "
                                     f"{previous_version!r} in force")]
        )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _candidate_bundle(policies_path: Path, target: Path, content: bytes) -> PolicyBundle:
    """The tree as it will be after publishing, loaded and compiled in a scratch copy."""
    with tempfile.TemporaryDirectory(prefix="ketenpoort-publish-") as scratch:
        copy = Path(scratch) / "policies"
        shutil.copytree(policies_path, copy)
        (copy / target.relative_to(policies_path)).write_bytes(content)
        bundle = PolicyBundle.load(copy)
    try:
        RegopyEngine(bundle)
    except PolicyEngineError as error:
        raise CovenantError([f"{target}: the policy does not compile with it: {error}"]) from error
    return bundle


def _stage(target: Path, content: bytes) -> Path:
    """Write ``content`` beside ``target`` (same file system, so the rename is atomic)."""
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(name, 0o644)
    return Path(name)


def _restore(target: Path, previous_content: bytes | None) -> None:
    if previous_content is None:
        target.unlink(missing_ok=True)
    else:
        os.replace(_stage(target, previous_content), target)
