"""The identity vault and the pseudonymiser.

Keys, all from the instance keyring, each used for one purpose only:

* "blind-index": through HKDF, one subkey for the blind index and one for subject ids. Both are
  keyed hashes of the subject key, so the same person always gets the same subject id, and no
  one without the keyring can test a guessed BSN against the table.
* "identity-master": wraps each subject's own data key (AES key wrap, RFC 3394). A subject keeps
  its data key for life: the vault record and every copy of the identifiers as one exchange sent
  them (:meth:`IdentityVault.seal_sent`) are sealed under it, so shredding the key shreds all.
* "audit-pseudonym": audit pseudonyms, keyed hashes of the subject id. Because the subject id is
  itself computed from the subject key, a privacy officer holding the keyring computes a
  person's audit pseudonym from a BSN alone (:meth:`IdentityVault.audit_pseudonym_for`).
* "pseudonym": through HKDF, one key per recipient for the pseudonyms that recipient sees.

Rotating the "blind-index" key changes every subject id and needs a re-keying migration; the
other keys carry their version in what they produce and can rotate on their own.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.db import insert_absent, session_now
from gateway.identity.interfaces import (
    IDENTIFIER_FIELDS,
    Identifiers,
    IdentityIntegrityError,
    SealedSubject,
    SubjectNotFoundError,
)
from gateway.identity.models import NONCE_LENGTH, Reidentification, Subject, SubjectAlias
from gateway.identity.normalise import is_low_confidence, subject_key, subject_keys
from gateway.keys import Keyring, KeyringError, KeyringSealer
from gateway.ports import IdentityError, SubjectShreddedError

DATA_KEY_BITS = 256
# Recipients are the covenant partners, a few dozen at most; the bound only stops a bug that
# invents recipient names from growing the cache without limit.
RECIPIENT_KEY_CACHE_SIZE = 1024
# 125 bits rendered as five groups of five base32 characters. The groups guarantee that a
# pseudonym never holds a run of nine digits, so nothing can mistake one for a BSN.
OPAQUE_CHARACTERS = 25
OPAQUE_GROUP = 5
AUDIT_PSEUDONYM_KIND = "AUD"
_AUDIT_PSEUDONYM = re.compile(rf"{AUDIT_PSEUDONYM_KIND}[0-9]+(-[A-Z2-7]{{{OPAQUE_GROUP}}})"
                              rf"{{{OPAQUE_CHARACTERS // OPAQUE_GROUP}}}")
# Vault rows opened per query while looking for a person's other subject keys.
ALIAS_SCAN_BATCH = 500
# What is left of a re-identification request's reason once the person it names is shredded.
REDACTED_REASON = "[removed: the identity was shredded]"


def derive_key(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(secret)


def keyed_digest(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), hashlib.sha256)


def render_opaque(kind: str, key_version: int, digest: bytes) -> str:
    """``KIND<version>-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX``: opaque, versioned, never BSN-shaped."""
    body = base64.b32encode(digest).decode()[:OPAQUE_CHARACTERS]
    groups = [body[i : i + OPAQUE_GROUP] for i in range(0, OPAQUE_CHARACTERS, OPAQUE_GROUP)]
    return f"{kind}{key_version}-" + "-".join(groups)


def is_audit_pseudonym(value: str) -> bool:
    """Whether ``value`` has the form of an audit pseudonym
    (:meth:`IdentityVault.audit_pseudonym`)."""
    return _AUDIT_PSEUDONYM.fullmatch(value) is not None


def canonical_json(identifiers: Identifiers) -> bytes:
    return json.dumps(
        identifiers, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def merge_identifiers(stored: Identifiers, incoming: Identifiers) -> Identifiers:
    """Fields the stored record lacks are added; fields it has keep their stored value.

    The first partner to name a field wins: a later exchange may complete a person's record but
    never rewrite it, so no partner can change what others see as someone's identity.
    """
    return {**incoming, **stored}


class IdentityVault:
    """Registers, reveals and shreds persons; never commits, always writes in the caller's
    transaction so a failed exchange leaves no identity behind."""

    def __init__(self, keyring: Keyring, keyring_path: Path | None = None,
                 sealer: KeyringSealer | None = None) -> None:
        self._keyring = keyring
        self._keyring_file = KeyringFile(keyring, keyring_path, sealer)
        blind_index_secret = keyring.secret("blind-index")
        self._blind_index_key = derive_key(blind_index_secret, b"ketenpoort/identity/blind-index")
        self._subject_id_key = derive_key(blind_index_secret, b"ketenpoort/identity/subject-id")
        self._audit_version = keyring.active_version("audit-pseudonym")
        self._audit_key = keyring.secret("audit-pseudonym", self._audit_version)

    def register(self, session: Session, identifiers: Identifiers) -> str:
        """The subject id of this person, creating or completing their record as needed.

        The same subject key (BSN, else folded name and birth date) always gives the same id.
        Fields the stored record lacks are merged in; stored fields are never overwritten (see
        :func:`merge_identifiers`). A shredded person registered again gets their subject id
        back holding only the new identifiers: the erased record stays erased. Raises
        :class:`IdentityError` when the identifiers name nobody.
        """
        sealed = self.seal(identifiers)
        self.store(session, sealed)
        return sealed.subject_id

    def seal(self, identifiers: Identifiers) -> SealedSubject:
        """The subject id and encrypted row for ``identifiers``, without touching the database.

        The first half of :meth:`register`, for callers that seal before their transaction so
        the encryption does not run while SQLite's single write lock is held.
        """
        # A person known only partially has no stable key: each report is a subject of its
        # own, which fuzzy linkage may later join to another.
        key = (f"partial:{uuid.uuid4()}" if is_low_confidence(identifiers)
               else subject_key(identifiers))
        subject_id = self._subject_id(key)
        data_key = AESGCM.generate_key(bit_length=DATA_KEY_BITS)
        columns = {"id": subject_id, **self._sealed(subject_id, key, identifiers, data_key)}
        return SealedSubject(subject_id, key, identifiers, columns, data_key)

    def store(self, session: Session, sealed: SealedSubject) -> bool:
        """The second half of :meth:`register`; True when the person was new to the vault."""
        # Most persons are new: the row is sealed already, so a new person costs one statement.
        # No conflict target: the id and the blind index come from the same subject key, and
        # two first registrations racing must meet on either without an error.
        if insert_absent(session, Subject, [sealed.columns], unique=None, returning="id"):
            return True
        # Known already (perhaps inserted by a concurrent transaction that has committed since,
        # for which the insert waited): lock the row and complete it.
        subject = self._get(session, sealed.subject_id, for_update=True)
        self._complete(subject, sealed)
        session.flush()
        return False

    def reveal(self, session: Session, subject_id: str) -> Identifiers:
        """The merged record, for matching and the operator only: a disclosure to a partner
        reveals what one exchange sent (:meth:`reveal_sent`). Callers audit every reveal."""
        return self._open(self._live(session, subject_id))

    def seal_sent(
        self, session: Session, sealed: SealedSubject, exchange_id: str, *, new_subject: bool
    ) -> dict[str, str]:
        """The identifiers exactly as exchange ``exchange_id`` sent them, sealed for storage
        with its deliveries, after :meth:`store` (``new_subject`` is what it returned).

        Sealed under the subject's own data key, bound to the subject and the exchange: later
        merges and links never change it, and shredding the subject makes it unreadable.
        """
        data_key = sealed.data_key if new_subject else self._data_key(
            self._live(session, sealed.subject_id))
        nonce = os.urandom(NONCE_LENGTH)
        ciphertext = AESGCM(data_key).encrypt(
            nonce, canonical_json(sealed.identifiers), _sent_context(sealed.subject_id, exchange_id)
        )
        return {"subject_id": sealed.subject_id, "nonce": _b64(nonce),
                "ciphertext": _b64(ciphertext)}

    def reveal_sent(self, session: Session, exchange_id: str, sent: dict[str, str]
                    ) -> Identifiers:
        """The identifiers one exchange sent about a person (see :meth:`seal_sent`).

        Raises :class:`SubjectShreddedError` once the subject was shredded, and
        :class:`IdentityIntegrityError` when the copy was altered or moved to another exchange.
        """
        subject = self._live(session, sent["subject_id"])
        try:
            plaintext = AESGCM(self._data_key(subject)).decrypt(
                base64.b64decode(sent["nonce"]), base64.b64decode(sent["ciphertext"]),
                _sent_context(subject.id, exchange_id),
            )
        except (InvalidTag, ValueError):
            raise IdentityIntegrityError("a sent identity failed authentication") from None
        return _identifiers_from_json(plaintext)

    def subject_id_for(self, identifiers: Identifiers) -> str:
        """The subject id the identifiers are filed under (the BSN's first), known or not."""
        return self._subject_id(subject_key(identifiers))

    def subject_ids_for(self, identifiers: Identifiers) -> set[str]:
        """Every subject id these identifiers can be filed under: the BSN's and that of name and
        birth date (a person sent once with each is two subjects until linked)."""
        return {self._subject_id(key) for key in subject_keys(identifiers)}

    def subject_ids_naming(self, session: Session, identifiers: Identifiers) -> set[str]:
        """The subject ids of the person ``identifiers`` name, across the vault's keys.

        Besides :meth:`subject_ids_for`, every live record whose stored identifiers share a
        subject key with them: a person first sent with a BSN (and a name and birth date) is
        found from name and birth date alone, and the other way round. A record also answers
        to the keys a rectification replaced (:meth:`rectify` keeps them sealed as aliases):
        the person, or a document they hold, may still carry the old name. An alias only leads
        to its own record; it never pulls in the records other persons filed under that key
        have now. The vault is sealed, so this opens every live record: meant for the privacy
        officer's rare requests, never for an exchange.
        """
        wanted = subject_keys(identifiers)
        found = {self._subject_id(key) for key in wanted}
        after = ""
        while True:
            rows = session.scalars(
                select(Subject).where(Subject.id > after, Subject.shredded_at.is_(None))
                .order_by(Subject.id).limit(ALIAS_SCAN_BATCH)
            ).all()
            aliases = self._aliases(session, rows)
            for subject in rows:
                keys = subject_keys(self._open(subject))
                if keys & wanted:
                    found |= {subject.id} | {self._subject_id(key) for key in keys}
                elif aliases.get(subject.id, set()) & wanted:
                    found.add(subject.id)
            if len(rows) < ALIAS_SCAN_BATCH:
                return found
            after = rows[-1].id

    def _aliases(self, session: Session, subjects: Sequence[Subject]) -> dict[str, set[str]]:
        """The former subject keys of each of these (live) subjects, opened."""
        by_id = {subject.id: subject for subject in subjects}
        found: dict[str, set[str]] = {}
        for alias in session.scalars(select(SubjectAlias).where(
                SubjectAlias.subject_id.in_(sorted(by_id)))):
            try:
                key = AESGCM(self._data_key(by_id[alias.subject_id])).decrypt(
                    alias.nonce, alias.ciphertext, _alias_context(alias.subject_id))
            except InvalidTag:
                raise IdentityIntegrityError("a subject alias failed authentication") from None
            found.setdefault(alias.subject_id, set()).add(key.decode("utf-8"))
        return found

    def reseal_sent(
        self, session: Session, sent: dict[str, str], exchange_id: str, identifiers: Identifiers
    ) -> dict[str, str]:
        """A sent copy (see :meth:`seal_sent`) holding ``identifiers`` instead: a rectification
        of what exchange ``exchange_id`` sent, under the same subject key and binding."""
        subject = self._live(session, sent["subject_id"])
        nonce = os.urandom(NONCE_LENGTH)
        ciphertext = AESGCM(self._data_key(subject)).encrypt(
            nonce, canonical_json(identifiers), _sent_context(subject.id, exchange_id))
        return {"subject_id": subject.id, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}

    def rectify(self, session: Session, subject_id: str, corrections: Identifiers,
                replaced: Mapping[str, set[str]]) -> list[str]:
        """Correct the merged record where it holds a value the rectifying partner sent.

        ``replaced`` names, per field, the old values that partner sent; a field whose stored
        value came from another partner is left alone, so no partner rewrites what others
        said. The blind index stays: the record is still found under the key it was filed by.
        A subject key the correction replaces (the old family name with the birth date) is
        kept as an alias, sealed under the subject's data key (see :meth:`subject_ids_naming`).
        Returns the fields changed; a shredded subject has none.
        """
        subject = self._get(session, subject_id, for_update=True)
        if subject.is_shredded or subject.blind_index is None:
            return []
        stored = self._open(subject)
        changed = sorted(name for name, value in corrections.items()
                         if stored.get(name) in replaced.get(name, set())
                         and stored.get(name) != value)
        if changed:
            merged = cast(Identifiers, {**stored, **{name: corrections[name]  # type: ignore[literal-required]  # names come from Identifiers' own keys
                                                     for name in changed}})
            data_key = self._data_key(subject)
            nonce = os.urandom(NONCE_LENGTH)
            subject.ciphertext = AESGCM(data_key).encrypt(
                nonce, canonical_json(merged), subject.id.encode())
            subject.nonce = nonce
            for former in sorted(subject_keys(stored) - subject_keys(merged)):
                alias_nonce = os.urandom(NONCE_LENGTH)
                session.add(SubjectAlias(
                    id=str(uuid.uuid4()), subject_id=subject.id, nonce=alias_nonce,
                    ciphertext=AESGCM(data_key).encrypt(alias_nonce, former.encode("utf-8"),
                                                        _alias_context(subject.id))))
            session.flush()
        return changed

    def shred(self, session: Session, subject_id: str) -> None:
        """Destroy the subject's data key and matching key; the identity becomes unrecoverable.

        The free-text reasons of re-identification requests about the person go too: they
        were written to name them; so do the former keys kept as aliases. What the database
        keeps of the old row (a PostgreSQL dead tuple, a backup) stays readable until the
        master key epoch that wrapped the data key is retired
        (:class:`~gateway.identity.rotation.ShredPurge`, run after commit).
        """
        subject = self._get(session, subject_id)
        session.execute(
            update(Reidentification)
            .where(Reidentification.subject_id == subject_id)
            .values(reason=REDACTED_REASON)
        )
        if subject.is_shredded:
            return
        session.execute(delete(SubjectAlias).where(SubjectAlias.subject_id == subject_id))
        subject.blind_index = None
        subject.master_key_version = None
        subject.wrapped_data_key = None
        subject.nonce = None
        subject.ciphertext = None
        subject.shredded_at = session_now(session)
        session.flush()

    def audit_pseudonym(self, subject_id: str) -> str:
        return render_opaque(
            AUDIT_PSEUDONYM_KIND, self._audit_version, keyed_digest(self._audit_key, subject_id)
        )

    def audit_pseudonym_for(self, identifiers: Identifiers) -> str | None:
        """The audit pseudonym of whoever these identifiers name; None if they name nobody."""
        try:
            key = subject_key(identifiers)
        except IdentityError:
            return None
        return self.audit_pseudonym(self._subject_id(key))

    def _subject_id(self, key: str) -> str:
        # RFC 9562 version 8 ("custom"): 122 bits of a keyed hash, not a random UUID.
        digest = int.from_bytes(keyed_digest(self._subject_id_key, key)[:16], "big")
        digest &= ~(0xF000 << 64) & ~(0xC000 << 48)
        digest |= (0x8000 << 64) | (0x8000 << 48)
        return str(uuid.UUID(int=digest))

    def _blind_index(self, key: str) -> str:
        return keyed_digest(self._blind_index_key, key).hex()

    def _complete(self, subject: Subject, sealed: SealedSubject) -> None:
        """Revive a shredded subject with the sealed row, or merge the identifiers into a live
        one under its own data key (copies sealed under that key must stay readable)."""
        if subject.is_shredded:
            _assign(subject, sealed.columns)
            return
        self._check_blind_index(subject, sealed.subject_key)
        stored = self._open(subject)
        merged = merge_identifiers(stored, sealed.identifiers)
        if merged != stored:
            _assign(subject, self._sealed(subject.id, sealed.subject_key, merged,
                                          self._data_key(subject)))

    def _sealed(
        self, subject_id: str, key: str, identifiers: Identifiers, data_key: bytes
    ) -> dict[str, Any]:
        """The columns of a live subject row holding ``identifiers`` under ``data_key``."""
        # A rotation may have added a master version since this process loaded the keyring:
        # seal under the newest, so a retired version is never written again.
        self._keyring_file.refresh_if_changed()
        master_version = self._keyring.active_version("identity-master")
        nonce = os.urandom(NONCE_LENGTH)
        return {
            "ciphertext": AESGCM(data_key).encrypt(
                nonce, canonical_json(identifiers), subject_id.encode()
            ),
            "nonce": nonce,
            "wrapped_data_key": aes_key_wrap(
                self._keyring.secret("identity-master", master_version), data_key
            ),
            "master_key_version": master_version,
            "blind_index": self._blind_index(key),
            "shredded_at": None,
        }

    def _open(self, subject: Subject) -> Identifiers:
        if (
            subject.master_key_version is None
            or subject.wrapped_data_key is None
            or subject.nonce is None
            or subject.ciphertext is None
        ):
            raise SubjectShreddedError("the subject's identity was shredded")
        try:
            plaintext = AESGCM(self._data_key(subject)).decrypt(
                subject.nonce, subject.ciphertext, subject.id.encode()
            )
        except InvalidTag:
            raise IdentityIntegrityError("the stored identity failed authentication") from None
        return _identifiers_from_json(plaintext)

    def _data_key(self, subject: Subject) -> bytes:
        if subject.master_key_version is None or subject.wrapped_data_key is None:
            raise SubjectShreddedError("the subject's identity was shredded")
        try:
            return aes_key_unwrap(self._master_key(subject.master_key_version),
                                  subject.wrapped_data_key)
        except InvalidUnwrap:
            raise IdentityIntegrityError("the stored identity failed authentication") from None

    def _master_key(self, version: int) -> bytes:
        """The master key ``version``; a version this process lacks reloads the keyring once."""
        try:
            return self._keyring.secret("identity-master", version)
        except KeyringError:
            if not self._keyring_file.refresh_if_changed():
                raise
        return self._keyring.secret("identity-master", version)

    def _check_blind_index(self, subject: Subject, key: str) -> None:
        if subject.blind_index != self._blind_index(key):
            raise IdentityIntegrityError("the subject row does not belong to these identifiers")

    def _get(self, session: Session, subject_id: str, *, for_update: bool = False) -> Subject:
        subject = session.get(Subject, subject_id, with_for_update=for_update)
        if subject is None:
            raise SubjectNotFoundError("no such subject")
        return subject

    def _live(self, session: Session, subject_id: str) -> Subject:
        subject = self._get(session, subject_id)
        if subject.is_shredded:
            raise SubjectShreddedError("the subject's identity was shredded")
        return subject


class KeyringFile:
    """Merges versions added to the keyring file since it was loaded into the in-memory keyring.

    Gunicorn workers load the keyring at start; ``ketenpoort keys rotate`` changes the file under
    them. A stat per call is cheap; the file is re-read only when its modification time or size
    changed. Versions are only ever added here, never removed, so a reader in the middle of a
    retirement still opens what it could open before.
    """

    def __init__(self, keyring: Keyring, path: Path | None,
                 sealer: KeyringSealer | None = None) -> None:
        self._keyring = keyring
        self._path = path
        self._sealer = sealer
        # Unknown until the first check: the file may have changed since ``keyring`` was read.
        self._seen: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def refresh_if_changed(self) -> bool:
        """Merge the file's versions if the file changed; True when something was merged."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen or self._path is None:
            return False
        with self._lock:
            fresh = Keyring.read(self._path, self._sealer)
            for name, versions in fresh.symmetric.items():
                # Versions held in memory win: a version number never changes its secret.
                merged = {**versions, **self._keyring.symmetric.get(name, {})}
                # One assignment: other threads see the old or the new dict, never a partial one.
                self._keyring.symmetric[name] = merged
            self._seen = stamp
        return True

    def _stamp(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            status = self._path.stat()
        except FileNotFoundError:
            return None
        return status.st_mtime_ns, status.st_size


def _assign(subject: Subject, columns: Mapping[str, Any]) -> None:
    for column, value in columns.items():
        setattr(subject, column, value)


def _sent_context(subject_id: str, exchange_id: str) -> bytes:
    # Associated data of a sent copy: it opens only for this subject in this exchange, and
    # never passes for the vault record (whose associated data is the bare subject id).
    return f"{subject_id}/sent/{exchange_id}".encode()


def _alias_context(subject_id: str) -> bytes:
    # Associated data of a former subject key: it opens only as an alias of this subject.
    return f"{subject_id}/alias".encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _identifiers_from_json(plaintext: bytes) -> Identifiers:
    document = json.loads(plaintext)
    if not isinstance(document, dict) or not all(
        name in IDENTIFIER_FIELDS and isinstance(value, str) for name, value in document.items()
    ):
        raise IdentityIntegrityError("the stored identity is not a set of identifiers")
    return cast(Identifiers, document)


class Pseudonymiser:
    """Per-recipient pseudonyms: stable at one recipient, unlinkable across recipients.

    Each recipient's key is derived from the "pseudonym" key with HKDF, the recipient and the key
    version as info, so two recipients comparing notes cannot join their records, and a leaked
    recipient key says nothing about any other recipient's pseudonyms.
    """

    def __init__(self, keyring: Keyring) -> None:
        self._version = keyring.active_version("pseudonym")
        self._secret = keyring.secret("pseudonym", self._version)
        self._recipient_key = functools.lru_cache(maxsize=RECIPIENT_KEY_CACHE_SIZE)(
            self._derive_recipient_key
        )

    def pseudonym(self, subject_id: str, recipient: str) -> str:
        if not recipient:
            raise ValueError("a pseudonym is always for a named recipient")
        digest = keyed_digest(self._recipient_key(recipient), subject_id)
        return render_opaque("PSN", self._version, digest)

    def _derive_recipient_key(self, recipient: str) -> bytes:
        info = f"ketenpoort/pseudonym/v{self._version}/recipient/{recipient}".encode()
        return derive_key(self._secret, info)
