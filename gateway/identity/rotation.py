"""Key rotation for the identity vault and the pseudonyms, online and resumable.

``rotate`` adds a new version of a keyring secret. For the identity master key the subjects'
data keys are then re-wrapped under it in batches, each batch its own short transaction, so
readers and writers are never blocked for long and an interrupted run simply continues where
it stopped: ``rewrap`` picks every live row whose master key version is not the active one.
Rows keep naming the version that wraps them, so reads work throughout, whatever mix of
versions the table holds. ``retire`` removes an old master version only once no row uses it.

``rotate_signing`` replaces a signing key (access tokens, webhooks, audit checkpoints); the old
public key stays in the keyring's previous keys so what it signed keeps verifying: tokens until
they expire, webhooks (co-signed by the old key too) for the overlap window, checkpoints for
ever. A token rotation replaces the RSA token key (RS256/PS256) too, where the keyring holds
one. ``retire_signing`` forgets token and webhook keys whose overlap has ended.

The keyring file is changed under the same exclusive lock :meth:`Keyring.load` uses, re-read
inside it, and written atomically (:meth:`Keyring.save`). Running gateway processes notice the
change themselves (:class:`~gateway.identity.services.IdentityVault` reloads the file when it
changes); the pseudonymiser picks up a new pseudonym version only when the workers restart.
"""

from __future__ import annotations

import fcntl
import logging
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.services import TOKEN_RSA_KEY
from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.db import purge_freed_pages, transaction
from gateway.identity.models import Subject
from gateway.keys import (
    Keyring,
    KeyringSealer,
    PreviousRsaKey,
    PreviousSigningKey,
    public_key_fingerprint,
)
from gateway.ports import AuditAppender

log = logging.getLogger(__name__)

MASTER_KEY = "identity-master"
PSEUDONYM_KEY = "pseudonym"
ROTATABLE_KEYS = (MASTER_KEY, PSEUDONYM_KEY)
DEFAULT_BATCH_SIZE = 500
SECRET_BYTES = 32
#: ``ketenpoort keys rotate --kind`` -> the keyring's signing key.
SIGNING_KINDS = {"token": "token-signing", "webhook": "webhook-signing",
                 "checkpoint": "audit-checkpoint"}
#: Kinds with an RSA key beside the Ed25519 one, where the keyring holds it: rotated and
#: retired together with it (RS256/PS256 access tokens, the NL GOV OAuth profile).
RSA_SIGNING_KINDS = {"token": TOKEN_RSA_KEY}


class RotationError(RuntimeError):
    """A rotation or retirement cannot proceed; the message says why."""



@dataclass(frozen=True)
class RewrapProgress:
    target_version: int
    rewrapped: int
    remaining: int


@dataclass(frozen=True)
class SigningRotation:
    """What a signing key rotation did (or, in a dry run, would do)."""

    kind: str
    previous_key: str
    new_key: str | None
    verifies_until: datetime | None  # None: the old key verifies for ever (checkpoints)
    # The kind's RSA key, where the keyring holds one (RSA_SIGNING_KINDS); None otherwise.
    previous_rsa_key: str | None = None
    new_rsa_key: str | None = None


@dataclass
class KeyRotation:
    keyring_path: Path
    session_factory: sessionmaker[Session]
    audit: AuditAppender
    actor: str = "cli"
    sealer: KeyringSealer | None = None
    clock: Clock = SYSTEM_CLOCK
    #: per signing kind, how long a replaced key keeps verifying; absent: for ever.
    signing_overlaps: Mapping[str, timedelta] = field(default_factory=dict)

    def rotate(self, name: str) -> int:
        """Add a new, active version of key ``name``; return its number. Audited."""
        if name not in ROTATABLE_KEYS:
            raise RotationError(f"only {', '.join(ROTATABLE_KEYS)} can be rotated")
        with self._locked_keyring() as keyring:
            version = keyring.active_version(name) + 1
            keyring.symmetric[name][version] = secrets.token_bytes(SECRET_BYTES)
            keyring.save(self.keyring_path, self.sealer)
        self._audit({"action": "keys.rotated", "key": name, "version": version})
        return version

    def rotate_signing(self, kind: str, *, dry_run: bool = False) -> SigningRotation:
        """Replace the ``kind`` signing key; the old one keeps verifying. Audited.

        A dry run reads the keyring and changes nothing."""
        name = _signing_key_name(kind)
        now = self.clock.now()
        overlap = self.signing_overlaps.get(kind)
        until = None if overlap is None else now + overlap
        rsa_name = RSA_SIGNING_KINDS.get(kind, "")  # "": the kind has no RSA key
        with self._locked_keyring() as keyring:
            previous = public_key_fingerprint(keyring.signing_key(name).public_key())
            has_rsa = rsa_name in keyring.rsa_signing
            previous_rsa = (public_key_fingerprint(keyring.rsa_key(rsa_name).public_key())
                            if has_rsa else None)
            if dry_run:
                return SigningRotation(kind, previous, None, until, previous_rsa)
            # Only a webhook key still signs after its rotation: deliveries carry both
            # signatures during the overlap. Tokens and checkpoints need the public key only.
            new = keyring.rotate_signing(name, now, keep_private=kind == "webhook")
            new_rsa = (public_key_fingerprint(keyring.rotate_rsa(rsa_name, now).public_key())
                       if has_rsa else None)
            keyring.save(self.keyring_path, self.sealer)
        rotation = SigningRotation(kind, previous, public_key_fingerprint(new.public_key()), until,
                                   previous_rsa, new_rsa)
        rsa_ids = {} if new_rsa is None else {"rsa_key": rsa_name, "rsa_key_id": new_rsa,
                                              "previous_rsa_key_id": previous_rsa}
        self._audit({"action": "keys.rotated", "key": name, "key_id": rotation.new_key,
                     "previous_key_id": previous, **rsa_ids})
        return rotation

    def retire_signing(self, kind: str, *, dry_run: bool = False,
                       immediately: bool = False) -> int:
        """Forget the replaced ``kind`` keys whose overlap has ended; how many. Audited.

        ``immediately`` forgets them all, overlap or not (a key that leaked: what it signed
        stops verifying once the processes restart). Checkpoint keys are never retired: the
        log's old checkpoints verify under them."""
        name = _signing_key_name(kind)
        overlap = self.signing_overlaps.get(kind)
        if overlap is None:
            raise RotationError(f"{kind} keys are kept: what they signed is verified for ever")
        with self._locked_keyring() as keyring:
            # Immediately: every replaced key counts as ended, whenever it was replaced.
            ended_before = (datetime.max.replace(tzinfo=UTC) if immediately
                            else self.clock.now() - overlap)
            rsa_name = RSA_SIGNING_KINDS.get(kind)
            replaced: list[PreviousSigningKey | PreviousRsaKey] = [
                *keyring.previous_keys(name),
                *(keyring.previous_rsa_keys(rsa_name) if rsa_name else [])]
            retired = [public_key_fingerprint(key.public_key) for key in replaced
                       if key.rotated_at < ended_before]
            if dry_run or not retired:
                return len(retired)
            keyring.drop_previous_keys(name, ended_before)
            if rsa_name:
                keyring.drop_previous_rsa_keys(rsa_name, ended_before)
            keyring.save(self.keyring_path, self.sealer)
        self._audit({"action": "keys.retired", "key": name, "immediately": immediately,
                     "key_ids": retired})
        return len(retired)

    def rewrap(
        self, *, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int | None = None
    ) -> RewrapProgress:
        """Re-wrap every data key not under the active master version, batch by batch.

        ``max_batches`` stops early (for a bounded maintenance window, or a test of an
        interrupted run); calling again resumes. Each batch is audited with its count.
        """
        if batch_size < 1:
            raise RotationError("batch_size must be positive")
        keyring = Keyring.load(self.keyring_path, self.sealer)
        target = keyring.active_version(MASTER_KEY)
        rewrapped = batches = 0
        while max_batches is None or batches < max_batches:
            with transaction(self.session_factory) as session:
                count = self._rewrap_batch(session, keyring, target, batch_size)
            if count == 0:
                break
            rewrapped += count
            batches += 1
        with transaction(self.session_factory) as session:
            remaining = _rows_not_under(session, target)
        return RewrapProgress(target, rewrapped, remaining)

    def retire(self, version: int, *, dry_run: bool = False) -> None:
        """Remove master key version ``version``; refused while it is active or in use.

        A dry run makes every check and removes nothing."""
        with self._locked_keyring() as keyring:
            versions = keyring.symmetric[MASTER_KEY]
            if version not in versions:
                raise RotationError(f"{MASTER_KEY} has no version {version}")
            if version == keyring.active_version(MASTER_KEY):
                raise RotationError(f"version {version} is the active {MASTER_KEY} version")
            with transaction(self.session_factory) as session:
                in_use = _rows_under(session, version)
            if in_use:
                raise RotationError(
                    f"{in_use} subject(s) still use {MASTER_KEY} version {version}; "
                    "run 'ketenpoort keys rotate --resume' first"
                )
            if dry_run:
                return
            del versions[version]
            keyring.save(self.keyring_path, self.sealer)
        self._audit({"action": "keys.retired", "key": MASTER_KEY, "version": version})

    def new_epoch(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
        """Start a new master key epoch and retire every older one; return the new version.

        This is what makes a shred hold against copies the database keeps or was copied into:
        a shredded subject's wrapped data key may survive in a PostgreSQL dead tuple, the WAL,
        a base backup or a copied SQLite file, but once the version that wrapped it is gone
        from the keyring, nothing opens it. Live subjects are re-wrapped first (online, in
        batches). A version a worker sealed under after the re-wrap (it had not yet seen the
        new version) is re-wrapped again; one still in use after that stays, with a warning,
        for the next epoch to retire.
        """
        version = self.rotate(MASTER_KEY)
        self.rewrap(batch_size=batch_size)
        with self._locked_keyring() as keyring:
            older = sorted(v for v in keyring.symmetric[MASTER_KEY] if v < version)
        for old in older:
            try:
                self.retire(old)
            except RotationError:
                self.rewrap(batch_size=batch_size)
                try:
                    self.retire(old)
                except RotationError as error:
                    log.warning("master key version %s stays for now: %s", old, error)
        return version

    def _rewrap_batch(
        self, session: Session, keyring: Keyring, target: int, batch_size: int
    ) -> int:
        subjects = session.scalars(
            select(Subject)
            .where(Subject.master_key_version.is_not(None), Subject.master_key_version != target)
            .order_by(Subject.id)
            .limit(batch_size)
            .with_for_update()
        ).all()
        new_master = keyring.secret(MASTER_KEY, target)
        for subject in subjects:
            if subject.master_key_version is None or subject.wrapped_data_key is None:
                continue  # shredded since the query; the check constraint keeps both None
            old_master = keyring.secret(MASTER_KEY, subject.master_key_version)
            data_key = aes_key_unwrap(old_master, subject.wrapped_data_key)
            subject.wrapped_data_key = aes_key_wrap(new_master, data_key)
            subject.master_key_version = target
        if subjects:
            self.audit.append(session, {
                "action": "keys.rewrapped", "actor": {"operator": self.actor},
                "key": MASTER_KEY, "version": target, "subjects": len(subjects),
            })
        return len(subjects)

    @contextmanager
    def _locked_keyring(self) -> Iterator[Keyring]:
        # The lock Keyring.load takes to complete a keyring: one writer at a time, and the file
        # is re-read inside the lock so no concurrent change is lost.
        with self.keyring_path.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # Not Keyring.load: it may take this same lock again, on another descriptor.
            yield Keyring.read(self.keyring_path, self.sealer)

    def _audit(self, event: dict[str, Any]) -> None:
        with transaction(self.session_factory) as session:
            self.audit.append(session, {**event, "actor": {"operator": self.actor}})


def _signing_key_name(kind: str) -> str:
    try:
        return SIGNING_KINDS[kind]
    except KeyError:
        raise RotationError(f"signing key kinds are {', '.join(SIGNING_KINDS)}") from None


def master_key_usage(session: Session) -> dict[int, int]:
    """Live subjects per master key version."""
    rows = session.execute(
        select(Subject.master_key_version, func.count())
        .where(Subject.master_key_version.is_not(None))
        .group_by(Subject.master_key_version)
    ).all()
    return {version: count for version, count in rows if version is not None}


def _rows_under(session: Session, version: int) -> int:
    return master_key_usage(session).get(version, 0)


def _rows_not_under(session: Session, version: int) -> int:
    return sum(count for v, count in master_key_usage(session).items() if v != version)


@dataclass
class ShredPurge:
    """Run after shredding commits: a new master key epoch, then the SQLite pages purged.

    Without a keyring file (an app built around an in-memory keyring) there is no epoch to
    retire; the purge of SQLite's pages still runs.
    """

    rotation: KeyRotation

    def __call__(self) -> int | None:
        """The new epoch's master key version; None when there was no keyring file."""
        epoch = None
        if self.rotation.keyring_path.exists():
            epoch = self.rotation.new_epoch()
        else:
            log.warning("no keyring file at %s: shredded keys stay readable in old copies of "
                        "the database until a new epoch is started", self.rotation.keyring_path)
        if not purge_freed_pages(self.rotation.session_factory):
            log.info("the write-ahead log could not be emptied yet (a reader holds it)")
        return epoch
