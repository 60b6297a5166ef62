"""Item content sealed at rest with the vault's envelope scheme, under a key of its own.

Each record (a delivery's item contents, an outbox message's payload) gets a fresh AES-256-GCM
data key, wrapped (RFC 3394) by a version of the keyring's "content-master" key; the record's
id is the associated data, so a sealed value copied into another row does not open. The key is
not the identity master key: that one is retired after every shred (an epoch, see
:meth:`~gateway.identity.rotation.KeyRotation.new_epoch`), which would otherwise mean
re-wrapping every delivery too. Removed records are deleted (and their pages zeroed on
SQLite); their content is not crypto-shredded.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from gateway.identity.interfaces import IdentityIntegrityError
from gateway.keys import Keyring

CONTENT_KEY = "content-master"
NONCE_BYTES = 12
DATA_KEY_BITS = 256
SEALED_FIELDS = frozenset({"v", "key", "nonce", "ciphertext"})


class ContentSealer:
    """Seals and opens JSON documents bound to the id of the row that stores them."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def seal(self, document: Any, record_id: str) -> dict[str, Any]:
        version = self._keyring.active_version(CONTENT_KEY)
        data_key = AESGCM.generate_key(bit_length=DATA_KEY_BITS)
        nonce = os.urandom(NONCE_BYTES)
        plaintext = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        return {
            "v": version,
            "key": _b64(aes_key_wrap(self._keyring.secret(CONTENT_KEY, version), data_key)),
            "nonce": _b64(nonce),
            "ciphertext": _b64(AESGCM(data_key).encrypt(nonce, plaintext, record_id.encode())),
        }

    def open(self, sealed: Mapping[str, Any], record_id: str) -> Any:
        try:
            master = self._keyring.secret(CONTENT_KEY, int(sealed["v"]))
            data_key = aes_key_unwrap(master, base64.b64decode(sealed["key"]))
            plaintext = AESGCM(data_key).decrypt(
                base64.b64decode(sealed["nonce"]), base64.b64decode(sealed["ciphertext"]),
                record_id.encode())
        except (InvalidUnwrap, InvalidTag, KeyError, ValueError):
            raise IdentityIntegrityError("sealed content failed authentication") from None
        return json.loads(plaintext)


def is_sealed(value: object) -> bool:
    return isinstance(value, Mapping) and value.keys() == SEALED_FIELDS


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
