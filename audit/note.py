"""Signed checkpoints: the text a checkpoint signs, its Ed25519 signature and key id.

A checkpoint note follows the shape of the C2SP ``tlog-checkpoint`` body::

    <origin>
    <tree size, decimal>
    <root hash, standard base64>
    time <issued at, ISO 8601 UTC, seconds>

each line ending in a newline (the ``time`` line is an extension line). The signature is
Ed25519 over the UTF-8 note. A key id is the hex SHA-256 of the raw 32-byte public key, so a
verifier can tell which key signed without trusting any name the export gives it.

The same signature also makes a C2SP ``signed-note`` (:func:`signed_note`), the form stock
witnesses and ``golang.org/x/mod/sumdb/note`` verify, named by the origin and checked with
the :func:`verifier_key` the gateway publishes. Imports nothing from the gateway: the offline
verifier uses this module too.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    tree_size: int
    root_hash: bytes
    issued_at: datetime

    def text(self) -> str:
        if "\n" in self.origin or not self.origin:
            raise ValueError("a checkpoint origin is one non-empty line")
        root = base64.b64encode(self.root_hash).decode("ascii")
        issued = self.issued_at.astimezone(UTC).strftime(TIME_FORMAT)
        return f"{self.origin}\n{self.tree_size}\n{root}\ntime {issued}\n"


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()


def signature_valid(public_key: Ed25519PublicKey, body: CheckpointBody, signature: bytes) -> bool:
    try:
        public_key.verify(signature, body.text().encode("utf-8"))
    except InvalidSignature:
        return False
    return True


# C2SP signed-note: the signature type byte of Ed25519, and the line that starts a signature.
ED25519_SIGNATURE_TYPE = b"\x01"
SIGNATURE_LINE_START = "\u2014 "


def _note_key_hash(name: str, public_key: Ed25519PublicKey) -> bytes:
    material = name.encode("utf-8") + b"\n" + ED25519_SIGNATURE_TYPE + raw_public_key(public_key)
    return hashlib.sha256(material).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key: ``<name>+<key hash, hex>+<base64(type || key)>``."""
    encoded = base64.b64encode(ED25519_SIGNATURE_TYPE + raw_public_key(public_key)).decode()
    return f"{name}+{_note_key_hash(name, public_key).hex()}+{encoded}"


def signed_note(text: str, name: str, public_key: Ed25519PublicKey, signature: bytes) -> str:
    """``text`` (ending in a newline) with its Ed25519 ``signature`` as a C2SP signed note."""
    if not text.endswith("\n") or "+" in name or " " in name:
        raise ValueError("a note ends in a newline and a key name has no '+' or space")
    line = base64.b64encode(_note_key_hash(name, public_key) + signature).decode()
    return f"{text}\n{SIGNATURE_LINE_START}{name} {line}\n"
