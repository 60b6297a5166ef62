"""Offline verification of an audit log export.

Run as ``python -m audit.verify EXPORT [--public-key PEM ...]``; exit status 0 means verified.
``python -m audit.verify --subject-access REPORT.json [--public-key PEM ...]`` checks a subject
access report instead: its checkpoint's signature and each entry's inclusion proof (and, in the
officer's verification copy, that each entry hashes to its leaf).

Needs only the export, and ideally the log's public key obtained separately; imports nothing
from the gateway, so an authority can run it on its own machine.

Export format (``ketenpoort-audit-log/1``): UTF-8 JSON Lines, one object per line, in order

1. one header: ``{"kind": "header", "format": "ketenpoort-audit-log/1",
   "public_keys": [{"key_id": hex, "public_key": base64 raw Ed25519}]}``;
2. the checkpoints, by strictly increasing tree size: ``{"kind": "checkpoint", "origin": str,
   "tree_size": int, "root_hash": base64, "issued_at": "YYYY-MM-DDTHH:MM:SSZ", "key_id": hex,
   "signature": base64}``; each signs the note text of :mod:`audit.note`;
3. the entries, in tree order: ``{"kind": "entry", "index": int, "leaf_hash": hex,
   "entry": str}`` where ``entry`` is the canonical JSON exactly as hashed (RFC 9162 leaf:
   SHA-256 of 0x00 followed by its UTF-8 bytes).

What is checked, and what a failure names:

* every checkpoint's signature, under the ``--public-key`` given (otherwise under the keys the
  header carries, which proves integrity but not who signed): the checkpoint's position;
* checkpoints in strictly increasing tree size: the first out of order;
* each entry sits at its own index and hashes to the leaf hash exported with it: the exact
  index of the first entry changed, deleted, inserted or moved;
* the tree head recomputed over the first ``tree_size`` leaves equals each signed root; this
  also catches a forger who renumbers and rehashes, and then names the first index after the
  last checkpoint that still verified (the change lies between that index and the failing
  checkpoint's size);
* no checkpoint signs more entries than the export holds: deletion from the end names the
  first missing index.

Entries after the last checkpoint are reported as an unsigned tail.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.canonical import canonical_entry
from audit.merkle import CompactRange, leaf_hash, verify_inclusion
from audit.note import CheckpointBody, key_id, parse_time, signature_valid

EXPORT_FORMAT = "ketenpoort-audit-log/1"


@dataclass(frozen=True)
class ExportedCheckpoint:
    body: CheckpointBody
    key_id: str
    signature: bytes


@dataclass(frozen=True)
class Report:
    entries: int
    checkpoints: int
    signed_size: int
    key_trusted: bool
    failure: str | None = None
    bad_index: int | None = None
    bad_checkpoint: int | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def summary(self) -> str:
        if self.failure is not None:
            where = (
                f"first bad index {self.bad_index}"
                if self.bad_index is not None
                else f"checkpoint #{self.bad_checkpoint}"
            )
            return f"FAIL ({where}): {self.failure}"
        trust = "the given public key" if self.key_trusted else "keys embedded in the export"
        tail = self.entries - self.signed_size
        return (
            f"OK: {self.entries} entries, {self.checkpoints} checkpoints signed by {trust}; "
            f"{self.signed_size} entries covered by a checkpoint, unsigned tail of {tail}"
        )


class Tampered(Exception):
    """What the export shows was changed; the verifier itself did not fail."""

    def __init__(self, reason: str, index: int | None = None, checkpoint: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.index = index
        self.checkpoint = checkpoint


#: The checkpoint key(s) the verifier trusts: several after a key rotation, each checkpoint
#: then verifies under the one it names; None: the keys the export's header carries.
TrustedKeys = Ed25519PublicKey | Sequence[Ed25519PublicKey] | None


def verify_export(path: Path, trusted_key: TrustedKeys = None) -> Report:
    with path.open(encoding="utf-8") as lines:
        return verify_lines(lines, trusted_key)


def verify_lines(lines: TextIO, trusted_key: TrustedKeys = None) -> Report:
    records = (json.loads(line) for line in lines if line.strip())
    progress = _Progress()
    try:
        keys = _header_keys(next(records, None), trusted_key)
        first_entry, checkpoints = _read_checkpoints(records, keys, progress)
        _verify_tree(_leaves(first_entry, records, progress), checkpoints, progress)
    except Tampered as finding:
        return progress.report(trusted_key, finding)
    except (AttributeError, KeyError, TypeError, ValueError, binascii.Error) as error:
        # JSONDecodeError is a ValueError; the rest are fields of the wrong shape.
        return progress.report(trusted_key, progress.malformed(error))
    return progress.report(trusted_key)


@dataclass
class _Progress:
    """How far verification got, so a failure can say where it happened."""

    entries: int = 0
    checkpoints: int = 0
    signed_size: int = 0
    reading_entries: bool = False

    def malformed(self, error: Exception) -> Tampered:
        reason = f"malformed export: {error!r}"
        if self.reading_entries:
            return Tampered(reason, index=self.entries)
        return Tampered(reason, checkpoint=self.checkpoints)

    def report(self, trusted_key: TrustedKeys, finding: Tampered | None = None) -> Report:
        return Report(
            entries=self.entries,
            checkpoints=self.checkpoints,
            signed_size=self.signed_size,
            key_trusted=trusted_key is not None,
            failure=None if finding is None else finding.reason,
            bad_index=None if finding is None else finding.index,
            bad_checkpoint=None if finding is None else finding.checkpoint,
        )


def _header_keys(
    header: dict[str, Any] | None, trusted_key: TrustedKeys
) -> dict[str, Ed25519PublicKey]:
    if header is None or header.get("kind") != "header" or header.get("format") != EXPORT_FORMAT:
        raise Tampered(f"the export does not start with a {EXPORT_FORMAT} header")
    if trusted_key is not None:
        return _by_key_id(trusted_key)
    keys = {}
    for listed in header["public_keys"]:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(listed["public_key"]))
        if key_id(public_key) != listed["key_id"]:
            raise Tampered(f"header key {listed['key_id']} does not match its public key")
        keys[listed["key_id"]] = public_key
    return keys


def _by_key_id(trusted_key: Ed25519PublicKey | Sequence[Ed25519PublicKey]
               ) -> dict[str, Ed25519PublicKey]:
    keys = [trusted_key] if isinstance(trusted_key, Ed25519PublicKey) else trusted_key
    return {key_id(key): key for key in keys}


def _read_checkpoints(
    records: Iterator[dict[str, Any]], keys: dict[str, Ed25519PublicKey], progress: _Progress
) -> tuple[dict[str, Any] | None, list[ExportedCheckpoint]]:
    checkpoints: list[ExportedCheckpoint] = []
    for record in records:
        if record["kind"] != "checkpoint":
            progress.reading_entries = True
            return record, checkpoints
        checkpoint = _checkpoint(record)
        _check_signature(checkpoint, len(checkpoints), keys)
        if checkpoints and checkpoint.body.tree_size <= checkpoints[-1].body.tree_size:
            raise Tampered(
                f"checkpoint of size {checkpoint.body.tree_size} follows one of size "
                f"{checkpoints[-1].body.tree_size}",
                checkpoint=len(checkpoints),
            )
        checkpoints.append(checkpoint)
        progress.checkpoints = len(checkpoints)
    return None, checkpoints


def _checkpoint(record: dict[str, Any]) -> ExportedCheckpoint:
    body = CheckpointBody(
        origin=record["origin"],
        tree_size=int(record["tree_size"]),
        root_hash=base64.b64decode(record["root_hash"], validate=True),
        issued_at=parse_time(record["issued_at"]),
    )
    return ExportedCheckpoint(body, record["key_id"], base64.b64decode(record["signature"]))


def _check_signature(
    checkpoint: ExportedCheckpoint, position: int, keys: dict[str, Ed25519PublicKey]
) -> None:
    public_key = keys.get(checkpoint.key_id)
    if public_key is None:
        raise Tampered(f"signed by unknown key {checkpoint.key_id}", checkpoint=position)
    if not signature_valid(public_key, checkpoint.body, checkpoint.signature):
        raise Tampered(
            f"signature does not match checkpoint of size {checkpoint.body.tree_size}",
            checkpoint=position,
        )


def _leaves(
    first: dict[str, Any] | None, records: Iterator[dict[str, Any]], progress: _Progress
) -> Iterator[bytes]:
    """Each entry's leaf hash, after checking its position and exported hash."""
    if first is None:
        return
    for position, record in enumerate(_chain(first, records)):
        if record["kind"] != "entry":
            raise Tampered(f"a {record['kind']!r} record among the entries", index=position)
        if record["index"] != position:
            raise Tampered(
                f"entry at position {position} claims tree index {record['index']}",
                index=position,
            )
        leaf = sha256(b"\x00" + record["entry"].encode("utf-8")).digest()
        if leaf.hex() != record["leaf_hash"]:
            raise Tampered(f"entry {position} does not hash to its leaf hash", index=position)
        progress.entries = position + 1
        yield leaf


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _verify_tree(
    leaves: Iterator[bytes], checkpoints: Sequence[ExportedCheckpoint], progress: _Progress
) -> None:
    tree = CompactRange()
    for position, checkpoint in enumerate(checkpoints):
        size = checkpoint.body.tree_size
        tree.extend(islice(leaves, size - tree.size))
        if tree.size < size:
            raise Tampered(
                f"checkpoint #{position} signs {size} entries, the export holds {tree.size}",
                index=tree.size,
            )
        if tree.root() != checkpoint.body.root_hash:
            raise Tampered(
                f"entries {progress.signed_size}..{size - 1} do not match the root signed "
                f"by checkpoint #{position}",
                index=progress.signed_size,
            )
        progress.signed_size = size
    tree.extend(leaves)


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise SystemExit(f"{path} holds no Ed25519 public key")
    return key


def verify_subject_access(
    report: dict[str, Any], trusted_key: TrustedKeys = None
) -> tuple[bool, str]:
    """Check a subject access report (JSON) offline: the checkpoint's signature (under one of
    the trusted keys, else the key the report carries, which proves integrity only), and that
    every entry's leaf sits where its inclusion proof says under the checkpoint's root.

    The data subject's copy carries each entry's leaf hash, not the entry (it names other
    persons): what it shows was checked against the leaf by the server and can be re-checked
    by the officer. The officer's verification copy carries the entries whole, and each must
    hash (as canonical JSON) to its leaf. (ok, what was checked or the first failure)."""
    try:
        return _verify_subject_access(report, trusted_key)
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        return False, f"malformed report: {type(error).__name__}: {error}"


def _verify_subject_access(
    report: dict[str, Any], trusted_key: TrustedKeys
) -> tuple[bool, str]:
    checkpoint = report["checkpoint"]
    if checkpoint is None:
        return False, "the report carries no signed checkpoint: nothing to verify against"
    embedded = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(checkpoint["public_key"], validate=True))
    key = embedded if trusted_key is None else _by_key_id(trusted_key).get(checkpoint["key_id"])
    if key is None:
        return False, "the checkpoint is signed by none of the trusted keys"
    body = CheckpointBody(checkpoint["origin"], int(checkpoint["tree_size"]),
                          base64.b64decode(checkpoint["root_hash"], validate=True),
                          parse_time(checkpoint["issued_at"]))
    if key_id(key) != checkpoint["key_id"] or not signature_valid(
            key, body, base64.b64decode(checkpoint["signature"], validate=True)):
        return False, "the checkpoint's signature does not verify"
    proven = unproven = whole = 0
    for entry in report["entries"]:
        proof = entry["proof"]
        if proof is None:
            unproven += 1
            continue
        leaf = base64.b64decode(proof["leaf_hash"], validate=True)
        if "entry" in entry:
            whole += 1
            if leaf_hash(canonical_entry(entry["entry"])) != leaf:
                return False, f"entry {entry['event_id']} does not hash to its leaf hash"
        hashes = [base64.b64decode(h, validate=True) for h in proof["hashes"]]
        if proof["tree_size"] != body.tree_size or not verify_inclusion(
                int(proof["leaf_index"]), body.tree_size, leaf, hashes, body.root_hash):
            return False, f"entry {entry['event_id']} is not proven in the checkpoint's tree"
        proven += 1
    trust = "a trusted key" if trusted_key is not None else "the report's own key (integrity only)"
    return True, (f"OK: {proven} entries proven against checkpoint of size {body.tree_size} "
                  f"signed by {trust} ({whole} of them whole, hashed to their leaf); "
                  f"{unproven} not yet covered by a checkpoint")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m audit.verify", description="Verify an audit log export offline."
    )
    parser.add_argument("export", type=Path, help="the audit log export (JSON Lines)")
    parser.add_argument("--public-key", type=Path, action="append",
                        help="PEM file of a trusted checkpoint key; repeat it for the keys "
                             "earlier key rotations replaced")
    parser.add_argument("--subject-access", action="store_true",
                        help="the file is a subject access report (JSON) instead of an export")
    arguments = parser.parse_args(argv)
    trusted = (None if arguments.public_key is None
               else [load_public_key(path) for path in arguments.public_key])
    if arguments.subject_access:
        ok, summary = verify_subject_access(
            json.loads(arguments.export.read_text(encoding="utf-8")), trusted)
        print(summary)
        return 0 if ok else 1
    report = verify_export(arguments.export, trusted)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
