"""The instance keyring: every secret the gateway holds, in one file readable only by its owner.

Symmetric secrets are versioned (``name`` -> {version: key}) so they can be rotated;
asymmetric signing keys are stored as PKCS#8 PEM, the active one per name plus the keys earlier
rotations replaced (:class:`PreviousSigningKey`), which keep verifying for an overlap window.
The file (encrypted at rest when a :class:`KeyringSealer` is configured, gateway/keystore.py)
is created by ``ketenpoort init`` and loaded, never silently regenerated, by a running gateway:
a lost keyring means lost pseudonyms and identities, so a missing one is an error, not a fresh
start.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SYMMETRIC_KEYS = (
    "identity-master", "pseudonym", "blind-index", "audit-pseudonym", "linkage", "content-master",
    "workspace", "webhook-secret",
)
SIGNING_KEYS = ("token-signing", "audit-checkpoint", "webhook-signing")
#: RSA keys, made only where a setting asks for them (an RSA key takes a moment to generate,
#: and most instances never need one): ``token-signing-rsa`` for RS256/PS256 access tokens.
RSA_KEY_BITS = 3072
SEALED_FORMAT = "ketenpoort-keyring-sealed/1"


class KeyringError(RuntimeError):
    pass


class KeyringSealer(Protocol):
    """Encrypts the keyring file at rest (gateway/keystore.py: a secret key, or a PKCS#11 token)."""

    def seal(self, plaintext: bytes) -> dict[str, Any]: ...

    def open(self, sealed: dict[str, Any]) -> bytes: ...


@dataclass(frozen=True)
class PreviousSigningKey:
    """A signing key a rotation replaced. Its public key keeps verifying what it signed; the
    private key is kept only where the old key must still sign (webhooks, during the overlap)."""

    public_key: Ed25519PublicKey
    rotated_at: datetime
    private_key: Ed25519PrivateKey | None = None


@dataclass(frozen=True)
class PreviousRsaKey:
    """An RSA key a rotation replaced; only its public key is kept, to verify what it signed."""

    public_key: rsa.RSAPublicKey
    rotated_at: datetime


@dataclass
class Keyring:
    symmetric: dict[str, dict[int, bytes]] = field(default_factory=dict)
    signing: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    rsa_signing: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    previous_signing: dict[str, list[PreviousSigningKey]] = field(default_factory=dict)
    previous_rsa: dict[str, list[PreviousRsaKey]] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> Keyring:
        return cls(
            symmetric={name: {1: secrets.token_bytes(32)} for name in SYMMETRIC_KEYS},
            signing={name: Ed25519PrivateKey.generate() for name in SIGNING_KEYS},
        )

    def add_missing_keys(self) -> list[str]:
        """Generate keys a keyring from an older release lacks; never touches existing ones."""
        added = []
        for name in SYMMETRIC_KEYS:
            if name not in self.symmetric:
                self.symmetric[name] = {1: secrets.token_bytes(32)}
                added.append(name)
        for name in SIGNING_KEYS:
            if name not in self.signing:
                self.signing[name] = Ed25519PrivateKey.generate()
                added.append(name)
        return added

    def active_version(self, name: str) -> int:
        return max(self._versions(name))

    def secret(self, name: str, version: int | None = None) -> bytes:
        versions = self._versions(name)
        chosen = self.active_version(name) if version is None else version
        if chosen not in versions:
            raise KeyringError(f"key {name!r} has no version {chosen}")
        return versions[chosen]

    def signing_key(self, name: str) -> Ed25519PrivateKey:
        try:
            return self.signing[name]
        except KeyError:
            raise KeyringError(f"keyring holds no signing key {name!r}") from None

    def ensure_rsa(self, name: str) -> bool:
        """Add the RSA key ``name`` if this keyring lacks it; True if it was added."""
        if name in self.rsa_signing:
            return False
        self.rsa_signing[name] = _new_rsa_key()
        return True

    def rsa_key(self, name: str) -> rsa.RSAPrivateKey:
        try:
            return self.rsa_signing[name]
        except KeyError:
            raise KeyringError(f"keyring holds no RSA key {name!r}; "
                               "run 'ketenpoort init' with the setting that needs it") from None

    def rotate_rsa(self, name: str, now: datetime) -> rsa.RSAPrivateKey:
        """Replace RSA key ``name`` by a new one; the old public key joins the previous keys."""
        old = self.rsa_key(name)
        self.previous_rsa.setdefault(name, []).append(PreviousRsaKey(old.public_key(), now))
        self.rsa_signing[name] = _new_rsa_key()
        return self.rsa_signing[name]

    def previous_rsa_keys(self, name: str) -> list[PreviousRsaKey]:
        """The RSA keys rotations of ``name`` replaced, oldest first."""
        return list(self.previous_rsa.get(name, []))

    def drop_previous_rsa_keys(self, name: str, rotated_before: datetime) -> int:
        """Forget the previous RSA keys of ``name`` replaced before ``rotated_before``; how many."""
        return _drop_replaced_before(self.previous_rsa, name, rotated_before)

    def rotate_signing(self, name: str, now: datetime, *, keep_private: bool) -> Ed25519PrivateKey:
        """Replace signing key ``name`` by a new one; the old one joins the previous keys."""
        old = self.signing_key(name)
        self.previous_signing.setdefault(name, []).append(PreviousSigningKey(
            old.public_key(), now, old if keep_private else None))
        self.signing[name] = Ed25519PrivateKey.generate()
        return self.signing[name]

    def previous_keys(self, name: str) -> list[PreviousSigningKey]:
        """The keys rotations of ``name`` replaced, oldest first."""
        return list(self.previous_signing.get(name, []))

    def drop_previous_keys(self, name: str, rotated_before: datetime) -> int:
        """Forget the previous keys of ``name`` replaced before ``rotated_before``; how many."""
        return _drop_replaced_before(self.previous_signing, name, rotated_before)

    def _versions(self, name: str) -> dict[int, bytes]:
        try:
            return self.symmetric[name]
        except KeyError:
            raise KeyringError(f"keyring holds no key {name!r}") from None

    def to_json(self) -> str:
        document: dict[str, Any] = {
            "format": 1,
            "symmetric": {
                name: {str(v): base64.b64encode(k).decode() for v, k in versions.items()}
                for name, versions in self.symmetric.items()
            },
            "signing": {name: _pem(key) for name, key in self.signing.items()},
            "previous_signing": {
                name: [_previous_to_json(key) for key in keys]
                for name, keys in self.previous_signing.items() if keys
            },
        }
        if self.rsa_signing:  # absent otherwise, so a keyring without RSA keys reads as before
            document["rsa"] = {name: _pem(key) for name, key in self.rsa_signing.items()}
        previous_rsa = {name: [{"public": _public_pem(key.public_key),
                                "rotated_at": key.rotated_at.isoformat()} for key in keys]
                        for name, keys in self.previous_rsa.items() if keys}
        if previous_rsa:  # likewise
            document["previous_rsa"] = previous_rsa
        return json.dumps(document, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        document = json.loads(text)
        signing = {}
        for name, pem in document["signing"].items():
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyringError(f"signing key {name!r} is not Ed25519")
            signing[name] = key
        rsa_keys = {}
        for name, pem in document.get("rsa", {}).items():
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise KeyringError(f"RSA key {name!r} is not an RSA key")
            rsa_keys[name] = key
        return cls(
            symmetric={
                name: {int(v): base64.b64decode(k) for v, k in versions.items()}
                for name, versions in document["symmetric"].items()
            },
            signing=signing,
            rsa_signing=rsa_keys,
            previous_signing={
                name: [_previous_from_json(name, key) for key in keys]
                for name, keys in document.get("previous_signing", {}).items()
            },
            previous_rsa={
                name: [_previous_rsa_from_json(name, key) for key in keys]
                for name, keys in document.get("previous_rsa", {}).items()
            },
        )

    def save(self, path: Path, sealer: KeyringSealer | None = None) -> None:
        """Write atomically, owner-readable only; encrypted by ``sealer`` when one is given."""
        text = self.to_json() if sealer is None else json.dumps(
            {"format": SEALED_FORMAT, "sealed": sealer.seal(self.to_json().encode())}, indent=2)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    @classmethod
    def read(cls, path: Path, sealer: KeyringSealer | None = None) -> Keyring:
        """The keyring file as it is; a sealed one needs its ``sealer``, a plaintext one none."""
        document = json.loads(path.read_text())
        is_sealed = document.get("format") == SEALED_FORMAT
        if is_sealed and sealer is None:
            raise KeyringError(f"the keyring at {path} is encrypted: configure its key "
                               "(KETENPOORT_KEYRING_KEY_FILE or the PKCS#11 settings)")
        if not is_sealed and sealer is not None:
            raise KeyringError(f"the keyring at {path} is not encrypted although a keyring key "
                               "is configured: run 'ketenpoort keys seal' once")
        if sealer is None:
            return cls.from_json(json.dumps(document))
        return cls.from_json(sealer.open(document["sealed"]).decode())

    def ensure(self, name: str) -> bool:
        """Add version 1 of a symmetric key this keyring predates; True if it was missing."""
        if name in self.symmetric:
            return False
        self.symmetric[name] = {1: secrets.token_bytes(32)}
        return True

    @classmethod
    def load(cls, path: Path, sealer: KeyringSealer | None = None) -> Keyring:
        """The keyring at ``path``, completed with symmetric keys introduced since it was made.

        Existing keys are never touched. The completion happens under an exclusive lock and
        re-reads the file, so of several processes starting together only the first adds a key
        and all of them end up with the same one.
        """
        if not path.exists():
            raise KeyringError(f"no keyring at {path}; run 'ketenpoort init' first")
        keyring = cls.read(path, sealer)
        if all(name in keyring.symmetric for name in SYMMETRIC_KEYS):
            return keyring
        with path.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keyring = cls.read(path, sealer)
            added = [name for name in SYMMETRIC_KEYS if keyring.ensure(name)]
            if added:
                keyring.save(path, sealer)
        return keyring


def _pem(key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


_Replaced = TypeVar("_Replaced", PreviousSigningKey, PreviousRsaKey)


def _drop_replaced_before(replaced: dict[str, list[_Replaced]], name: str,
                          rotated_before: datetime) -> int:
    kept = [k for k in replaced.get(name, []) if k.rotated_at >= rotated_before]
    dropped = len(replaced.get(name, [])) - len(kept)
    replaced[name] = kept
    return dropped


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def _public_pem(key: Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _previous_to_json(key: PreviousSigningKey) -> dict[str, Any]:
    return {
        "public": _public_pem(key.public_key),
        "rotated_at": key.rotated_at.isoformat(),
        "private": None if key.private_key is None else _pem(key.private_key),
    }


def _previous_from_json(name: str, document: dict[str, Any]) -> PreviousSigningKey:
    public = serialization.load_pem_public_key(document["public"].encode())
    private = (None if document["private"] is None
               else serialization.load_pem_private_key(document["private"].encode(), None))
    if not isinstance(public, Ed25519PublicKey) or not (
            private is None or isinstance(private, Ed25519PrivateKey)):
        raise KeyringError(f"a previous signing key of {name!r} is not Ed25519")
    return PreviousSigningKey(public, datetime.fromisoformat(document["rotated_at"]), private)


def _previous_rsa_from_json(name: str, document: dict[str, Any]) -> PreviousRsaKey:
    public = serialization.load_pem_public_key(document["public"].encode())
    if not isinstance(public, rsa.RSAPublicKey):
        raise KeyringError(f"a previous key of {name!r} is not an RSA key")
    return PreviousRsaKey(public, datetime.fromisoformat(document["rotated_at"]))


def public_key_fingerprint(key: Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    """A short, stable name of a public key for audit entries and operators (SHA-256, hex):
    of the raw key for Ed25519, of the DER SubjectPublicKeyInfo for RSA (which has no raw
    form)."""
    raw = (key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
           if isinstance(key, rsa.RSAPublicKey)
           else key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    return hashlib.sha256(raw).hexdigest()[:16]
