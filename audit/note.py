"""Signed checkpoints: the text a checkpoint signs, its Ed25519 signature and key id.

A checkpoint note follows the shape of the C2SP ``tlog-checkpoint`` body::

    <origin>
    <tree size, decimal>
    <root hash, standard base64>
    time <issued at, ISO 8601 UTC, seconds>

each line ending in a newline. The signature is Ed25519 over the UTF-8 note. A key id is the
hex SHA-256 of the raw 32-byte public key, so a verifier can tell which key signed without
trusting any name the export gives it. Imports nothing from the gateway: the offline verifier
uses this module too.
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
