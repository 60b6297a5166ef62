"""Export from the database, verify offline, and catch every kind of tampering by position."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from audit import merkle
from audit.export import export_log
from audit.log import CheckpointSigner, Sequencer
from audit.note import TIME_FORMAT, key_id
from audit.verify import EXPORT_FORMAT, Report, verify_export
from gateway.auditing.integrity import verify_database
from gateway.clock import SYSTEM_CLOCK
from gateway.keys import Keyring

REPO_ROOT = Path(__file__).resolve().parents[2]
Records = list[dict[str, Any]]
# The exported log: checkpoints at 6, 10 and 12 entries; records[0] is the header,
# records[1:4] the checkpoints, records[4 + i] the entry at tree index i.
CHECKPOINT_SIZES = (6, 10, 12)
FIRST_ENTRY = 1 + len(CHECKPOINT_SIZES)


@pytest.fixture
def public_key(keyring: Keyring) -> Ed25519PublicKey:
    return keyring.signing_key("audit-checkpoint").public_key()


@pytest.fixture
def export_path(
    session: Session,
    sequencer: Sequencer,
    record_events: Callable[[int], list[str]],
    tmp_path: Path,
) -> Path:
    previous = 0
    for size in CHECKPOINT_SIZES:
        record_events(size - previous)
        sequencer.run_once()
        previous = size
    path = tmp_path / "audit-export.jsonl"
    summary = export_log(session, path)
    assert (summary.entries, summary.checkpoints) == (12, 3)
    return path


def _read(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, records: Records) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def _entry(records: Records, index: int) -> dict[str, Any]:
    return records[FIRST_ENTRY + index]


def test_an_untouched_export_verifies_under_the_trusted_key(
    export_path: Path, public_key: Ed25519PublicKey
) -> None:
    report = verify_export(export_path, public_key)
    assert report == Report(entries=12, checkpoints=3, signed_size=12, key_trusted=True)
    assert report.summary().startswith("OK: 12 entries, 3 checkpoints")


def test_an_export_verifies_with_its_embedded_keys_but_says_so(export_path: Path) -> None:
    report = verify_export(export_path)
    assert report.ok
    assert not report.key_trusted
    assert "keys embedded in the export" in report.summary()


def test_an_empty_log_exports_and_verifies(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    export_log(session, path)
    assert verify_export(path) == Report(0, 0, 0, key_trusted=False)


def test_entries_after_the_last_checkpoint_are_an_unsigned_tail(export_path: Path) -> None:
    records = _read(export_path)
    del records[3]
    _write(export_path, records)
    report = verify_export(export_path)
    assert (report.ok, report.signed_size, report.entries) == (True, 10, 12)
    assert "unsigned tail of 2" in report.summary()


def _pem(public_key: Ed25519PublicKey, path: Path) -> Path:
    path.write_bytes(
        public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def test_the_command_line_verifies_without_loading_the_gateway(
    export_path: Path, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    pem = _pem(public_key, tmp_path / "audit.pem")
    probe = (
        "import sys; from audit.verify import main; status = main(sys.argv[1:]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'gateway', 'sqlalchemy'})); "
        "sys.exit(status)"
    )
    result = subprocess.run(  # noqa: S603 -- fixed interpreter and arguments, no shell
        [sys.executable, "-c", probe, str(export_path), "--public-key", str(pem)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    verdict, loaded = result.stdout.splitlines()
    assert verdict.startswith("OK: 12 entries")
    assert loaded == "[]"


def test_the_command_line_exits_nonzero_and_names_the_bad_index(export_path: Path) -> None:
    records = _read(export_path)
    _entry(records, 2)["entry"] = _entry(records, 2)["entry"].replace("ex-2", "ex-9")
    _write(export_path, records)
    result = subprocess.run(  # noqa: S603 -- fixed interpreter and arguments, no shell
        [sys.executable, "-m", "audit.verify", str(export_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL (first bad index 2)")


def _edit_entry(records: Records) -> None:
    _entry(records, 7)["entry"] = _entry(records, 7)["entry"].replace("ex-1", "ex-X")


def _edit_entry_and_rehash(records: Records) -> None:
    _edit_entry(records)
    _entry(records, 7)["leaf_hash"] = merkle.leaf_hash(_entry(records, 7)["entry"].encode()).hex()


def _delete_entry(records: Records) -> None:
    del records[FIRST_ENTRY + 3]


def _delete_last_entry(records: Records) -> None:
    del records[-1]


def _insert_copy(records: Records) -> None:
    records.insert(FIRST_ENTRY + 5, dict(_entry(records, 2)))


def _swap_entries(records: Records) -> None:
    position = FIRST_ENTRY + 4
    records[position], records[position + 1] = records[position + 1], records[position]


def _swap_and_renumber(records: Records) -> None:
    _swap_entries(records)
    _entry(records, 4)["index"], _entry(records, 5)["index"] = 4, 5


def _forge_root(records: Records) -> None:
    records[2]["root_hash"] = base64.b64encode(sha256(b"forged").digest()).decode()


def _forge_size(records: Records) -> None:
    records[2]["tree_size"] = 11


def _swap_checkpoints(records: Records) -> None:
    records[1], records[2] = records[2], records[1]


def _unknown_signer(records: Records) -> None:
    records[3]["key_id"] = "0" * 64


def _garbage_entry(records: Records) -> None:
    _entry(records, 9)["entry"] = 42


@pytest.mark.parametrize(
    ("tamper", "bad_index", "bad_checkpoint"),
    [
        (_edit_entry, 7, None),
        (_edit_entry_and_rehash, 6, None),
        (_delete_entry, 3, None),
        (_delete_last_entry, 11, None),
        (_insert_copy, 5, None),
        (_swap_entries, 4, None),
        (_swap_and_renumber, 0, None),
        (_forge_root, None, 1),
        (_forge_size, None, 1),
        (_swap_checkpoints, None, 1),
        (_unknown_signer, None, 2),
        (_garbage_entry, 9, None),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_tampering_is_detected_at_the_first_bad_position(
    export_path: Path,
    public_key: Ed25519PublicKey,
    tamper: Callable[[Records], None],
    bad_index: int | None,
    bad_checkpoint: int | None,
) -> None:
    records = _read(export_path)
    tamper(records)
    _write(export_path, records)
    report = verify_export(export_path, public_key)
    assert not report.ok
    assert (report.bad_index, report.bad_checkpoint) == (bad_index, bad_checkpoint), report


def test_a_non_json_line_is_named_by_position(export_path: Path) -> None:
    lines = export_path.read_text().splitlines()
    lines[FIRST_ENTRY + 4] = "{not json"
    export_path.write_text("\n".join(lines) + "\n")
    report = verify_export(export_path)
    assert report.bad_index == 4
    assert "malformed" in (report.failure or "")


def test_an_export_without_its_header_is_refused(export_path: Path) -> None:
    _write(export_path, _read(export_path)[1:])
    report = verify_export(export_path)
    assert report.failure == f"the export does not start with a {EXPORT_FORMAT} header"


def test_a_header_key_that_does_not_match_its_id_is_refused(export_path: Path) -> None:
    records = _read(export_path)
    other = Ed25519PrivateKey.generate().public_key()
    records[0]["public_keys"][0]["public_key"] = base64.b64encode(
        other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    _write(export_path, records)
    assert "does not match its public key" in (verify_export(export_path).failure or "")


def _resign_with(records: Records, forger: CheckpointSigner) -> Records:
    """Rebuild a consistent export, as someone holding the entries but not the key could."""
    entries = records[FIRST_ENTRY:]
    for entry in entries:
        entry["leaf_hash"] = merkle.leaf_hash(entry["entry"].encode()).hex()
    leaves = [bytes.fromhex(entry["leaf_hash"]) for entry in entries]
    signed = forger.sign(len(leaves), merkle.root_hash(leaves), SYSTEM_CLOCK.now())
    header = {
        "kind": "header",
        "format": EXPORT_FORMAT,
        "public_keys": [
            {"key_id": forger.key_id, "public_key": base64.b64encode(forger.public_key).decode()}
        ],
    }
    checkpoint = {
        "kind": "checkpoint",
        "origin": signed.body.origin,
        "tree_size": signed.body.tree_size,
        "root_hash": base64.b64encode(signed.body.root_hash).decode(),
        "issued_at": signed.body.issued_at.strftime(TIME_FORMAT),
        "key_id": signed.key_id,
        "signature": base64.b64encode(signed.signature).decode(),
    }
    return [header, checkpoint, *entries]


def test_a_log_resigned_with_another_key_fails_only_against_the_trusted_key(
    export_path: Path, public_key: Ed25519PublicKey
) -> None:
    records = _read(export_path)
    _edit_entry(records)
    forger = CheckpointSigner(Ed25519PrivateKey.generate())
    _write(export_path, _resign_with(records, forger))
    assert verify_export(export_path).ok
    trusted = verify_export(export_path, public_key)
    assert (trusted.ok, trusted.bad_checkpoint) == (False, 0)


def test_export_and_verify_tell_their_progress(
    session: Session, sequencer: Sequencer, record_events: Callable[[int], list[str]],
    public_key: Ed25519PublicKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("audit.export.STREAM_BATCH", 4)
    monkeypatch.setattr("gateway.auditing.integrity.STREAM_BATCH", 4)
    record_events(6)
    sequencer.run_once()
    told: list[tuple[str, int, int]] = []

    export_log(session, tmp_path / "export.jsonl", lambda *step: told.append(step))
    report = verify_database(session, {key_id(public_key): public_key},
                             told=lambda *step: told.append(step))

    assert report.ok
    assert told == [("export", 4, 6), ("export", 6, 6), ("verify", 4, 6), ("verify", 6, 6)]
