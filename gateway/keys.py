"""The instance keyring: every secret the gateway holds, in one file readable only by its owner.

Symmetric secrets are versioned (``name`` -> {version: key}) so later issues can rotate them;
asymmetric signing keys are stored as PKCS#8 PEM. The file is created by ``ketenpoort init``
and loaded, never silently regenerated, by a running gateway: a lost keyring means lost
pseudonyms and identities, so a missing one is an error, not a fresh start.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SYMMETRIC_KEYS = (
    "identity-master", "pseudonym", "blind-index", "audit-pseudonym", "linkage", "content-master",
    "workspace", "webhook-secret",
)
SIGNING_KEYS = ("token-signing", "audit-checkpoint", "webhook-signing")
#: RSA keys, made only where a setting asks for them (an RSA key takes a moment to generate,
#: and most instances never need one): ``token-signing-rsa`` for RS256/PS256 access tokens.
RSA_KEY_BITS = 3072


class KeyringError(RuntimeError):
    pass


@dataclass
class Keyring:
    symmetric: dict[str, dict[int, bytes]] = field(default_factory=dict)
    signing: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    rsa_signing: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)

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
        self.rsa_signing[name] = rsa.generate_private_key(public_exponent=65537,
                                                          key_size=RSA_KEY_BITS)
        return True

    def rsa_key(self, name: str) -> rsa.RSAPrivateKey:
        try:
            return self.rsa_signing[name]
        except KeyError:
            raise KeyringError(f"keyring holds no RSA key {name!r}; "
                               "run 'ketenpoort init' with the setting that needs it") from None

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
        }
        if self.rsa_signing:  # absent otherwise, so a keyring without RSA keys reads as before
            document["rsa"] = {name: _pem(key) for name, key in self.rsa_signing.items()}
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
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def ensure(self, name: str) -> bool:
        """Add version 1 of a symmetric key this keyring predates; True if it was missing."""
        if name in self.symmetric:
            return False
        self.symmetric[name] = {1: secrets.token_bytes(32)}
        return True

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """The keyring at ``path``, completed with symmetric keys introduced since it was made.

        Existing keys are never touched. The completion happens under an exclusive lock and
        re-reads the file, so of several processes starting together only the first adds a key
        and all of them end up with the same one.
        """
        if not path.exists():
            raise KeyringError(f"no keyring at {path}; run 'ketenpoort init' first")
        keyring = cls.from_json(path.read_text())
        if all(name in keyring.symmetric for name in SYMMETRIC_KEYS):
            return keyring
        with path.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keyring = cls.from_json(path.read_text())
            added = [name for name in SYMMETRIC_KEYS if keyring.ensure(name)]
            if added:
                keyring.save(path)
        return keyring


def _pem(key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
