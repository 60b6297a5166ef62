"""The keyring file at rest: encrypted under a key the file itself does not hold.

Two sources of that key, behind one port (:class:`gateway.keys.KeyringSealer`):

* :class:`SecretKeySealer`: a 256-bit key from a secret (``KETENPOORT_KEYRING_KEY`` or, better,
  ``KETENPOORT_KEYRING_KEY_FILE`` naming a mounted secret), AES-256-GCM in this process;
* :class:`Pkcs11Sealer`: an AES key generated inside a PKCS#11 token (an HSM; SoftHSM2 in the
  tests) that never leaves it: the token encrypts and decrypts the keyring, so a copy of the
  disk, or of a backup, opens nothing without the token and its PIN.

The sealed file is JSON ``{"format": SEALED_FORMAT, "sealed": {...}}``; what ``sealed`` holds
is the sealer's own (method, nonce, ciphertext). The keyring's name is the associated data, so a
sealed blob cannot be passed off as another file's.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.keys import SEALED_FORMAT, Keyring, KeyringError, KeyringSealer
from gateway.settings import Settings

ASSOCIATED_DATA = b"ketenpoort/keyring/1"
NONCE_BYTES = 12
AES_GCM_METHOD = "aes-256-gcm"
PKCS11_METHOD = "pkcs11-aes-gcm"


@dataclass(frozen=True)
class SecretKeySealer:
    """AES-256-GCM under a key given as base64 of 32 random bytes (``openssl rand -base64 32``)."""

    key: bytes

    @classmethod
    def from_base64(cls, encoded: str) -> SecretKeySealer:
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise KeyringError("keyring_key is not base64") from None
        if len(key) != 32:
            raise KeyringError("keyring_key must be 32 bytes (openssl rand -base64 32)")
        return cls(key)

    def seal(self, plaintext: bytes) -> dict[str, Any]:
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(self.key).encrypt(nonce, plaintext, ASSOCIATED_DATA)
        return {"method": AES_GCM_METHOD, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}

    def open(self, sealed: dict[str, Any]) -> bytes:
        _expect_method(sealed, AES_GCM_METHOD)
        try:
            return AESGCM(self.key).decrypt(
                base64.b64decode(sealed["nonce"]), base64.b64decode(sealed["ciphertext"]),
                ASSOCIATED_DATA)
        except InvalidTag:
            raise KeyringError("the keyring does not open with this keyring_key") from None


# One loaded library per module path: PKCS#11 modules are initialised once per process.
_LIBRARIES: dict[str, Any] = {}
_LIBRARIES_LOCK = threading.Lock()


@dataclass(frozen=True)
class Pkcs11Sealer:
    """AES-GCM by a PKCS#11 token, under its secret key labelled ``key_label``.

    ``create_key`` makes that key (sensitive, not extractable) when the token has none: the
    operator's ``ketenpoort keys seal`` does; a running gateway only ever looks it up.
    """

    module: str
    token_label: str
    pin: str
    key_label: str = "ketenpoort-keyring"

    def seal(self, plaintext: bytes) -> dict[str, Any]:
        import pkcs11  # noqa: PLC0415  # optional dependency (extra "hsm"), loaded when configured

        nonce = secrets.token_bytes(NONCE_BYTES)
        with self._session() as session:
            key = self._key(session)
            ciphertext = key.encrypt(plaintext, mechanism=pkcs11.Mechanism.AES_GCM,
                                     mechanism_param=pkcs11.GCMParams(nonce, ASSOCIATED_DATA))
        return {"method": PKCS11_METHOD, "key_label": self.key_label, "nonce": _b64(nonce),
                "ciphertext": _b64(bytes(ciphertext))}

    def open(self, sealed: dict[str, Any]) -> bytes:
        import pkcs11  # noqa: PLC0415  # optional dependency (extra "hsm"), loaded when configured

        _expect_method(sealed, PKCS11_METHOD)
        with self._session() as session:
            key = self._key(session)
            try:
                return bytes(key.decrypt(
                    base64.b64decode(sealed["ciphertext"]), mechanism=pkcs11.Mechanism.AES_GCM,
                    mechanism_param=pkcs11.GCMParams(base64.b64decode(sealed["nonce"]),
                                                     ASSOCIATED_DATA)))
            except pkcs11.PKCS11Error:
                raise KeyringError("the keyring does not open with the token's key") from None

    def create_key(self) -> bool:
        """Generate the token's keyring key unless it exists; True when one was generated."""
        import pkcs11  # noqa: PLC0415  # optional dependency (extra "hsm"), loaded when configured

        with self._session() as session:
            try:
                self._key(session)
                return False
            except KeyringError:
                session.generate_key(pkcs11.KeyType.AES, 256, label=self.key_label, store=True,
                                     template={pkcs11.Attribute.SENSITIVE: True,
                                               pkcs11.Attribute.EXTRACTABLE: False})
                return True

    def _session(self) -> Any:
        import pkcs11  # noqa: PLC0415  # optional dependency (extra "hsm"), loaded when configured

        with _LIBRARIES_LOCK:
            if self.module not in _LIBRARIES:
                _LIBRARIES[self.module] = pkcs11.lib(self.module)
        try:
            token = _LIBRARIES[self.module].get_token(token_label=self.token_label)
            return token.open(user_pin=self.pin, rw=True)
        except pkcs11.PKCS11Error as error:
            raise KeyringError(f"PKCS#11 token {self.token_label!r}: {error!r}") from None

    def _key(self, session: Any) -> Any:
        import pkcs11  # noqa: PLC0415  # optional dependency (extra "hsm"), loaded when configured

        try:
            return session.get_key(pkcs11.ObjectClass.SECRET_KEY, pkcs11.KeyType.AES,
                                   label=self.key_label)
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
            raise KeyringError(f"the token holds no single AES key {self.key_label!r}; "
                               "run 'ketenpoort keys seal'") from None


def keyring_sealer(settings: Settings) -> KeyringSealer | None:
    """The sealer the settings configure, or None: the keyring file is plaintext (0600)."""
    if settings.pkcs11_module and settings.keyring_key:
        raise KeyringError("set keyring_key or pkcs11_module, not both")
    if settings.pkcs11_module and not (settings.pkcs11_token_label and settings.pkcs11_pin):
        raise KeyringError("pkcs11_module needs pkcs11_token_label and pkcs11_pin")
    if settings.keyring_key:
        return SecretKeySealer.from_base64(settings.keyring_key)
    if settings.pkcs11_module:
        return Pkcs11Sealer(settings.pkcs11_module, settings.pkcs11_token_label,
                            settings.pkcs11_pin, settings.pkcs11_key_label)
    return None


def _expect_method(sealed: dict[str, Any], method: str) -> None:
    if sealed.get("method") != method:
        raise KeyringError(f"the keyring is sealed with {sealed.get('method')!r}, but "
                           f"{method!r} is configured")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def seal_keyring_file(path: Path, sealer: KeyringSealer) -> str:
    """Encrypt the plaintext keyring at ``path`` in place (once, when sealing is introduced);
    the sealing method.

    Under the keyring's lock, so no rotation writes a plaintext file over it meanwhile; a
    PKCS#11 token gets its keyring key first if it has none."""
    if isinstance(sealer, Pkcs11Sealer):
        sealer.create_key()
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _method(path) is not None:
            raise KeyringError(f"the keyring at {path} is already encrypted")
        keyring = Keyring.read(path)
        keyring.save(path, sealer)
    if Keyring.read(path, sealer).to_json() != keyring.to_json():
        raise KeyringError(f"the sealed keyring at {path} does not open to what was sealed")
    return str(_method(path))


def unseal_keyring_file(path: Path, sealer: KeyringSealer) -> str:
    """Decrypt the keyring at ``path`` in place (owner-readable only, as before sealing): the
    way from one sealer to another, or off an HSM. The method it was sealed with.

    Under the keyring's lock, like sealing; the configured ``sealer`` must open it."""
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        method = _method(path)
        if method is None:
            raise KeyringError(f"the keyring at {path} is not encrypted")
        keyring = Keyring.read(path, sealer)
        keyring.save(path)
    if Keyring.read(path).to_json() != keyring.to_json():
        raise KeyringError(f"the unsealed keyring at {path} does not read as what was sealed")
    return method


def _method(path: Path) -> str | None:
    """The method the keyring file at ``path`` is sealed with; None for a plaintext one."""
    document = json.loads(path.read_text())
    if document.get("format") != SEALED_FORMAT:
        return None
    return str(document["sealed"].get("method"))
