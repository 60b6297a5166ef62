"""Write the audit log to the export format :mod:`audit.verify` checks offline."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditEntry, AuditSigningKey, Checkpoint
from audit.note import TIME_FORMAT
from audit.verify import EXPORT_FORMAT

# Rows fetched per round-trip while streaming entries; an export of millions must not load
# the whole log into memory.
STREAM_BATCH = 5000
#: Told (stage, done, total) as a long operation advances; None: nothing is told.
Progress = Callable[[str, int, int], None] | None


@dataclass(frozen=True)
class ExportSummary:
    entries: int
    checkpoints: int


def export_log(session: Session, out_path: Path, progress: Progress = None) -> ExportSummary:
    """Write every integrated entry, every checkpoint and every signing key to ``out_path``.

    Checkpoints are read before entries, so each one covers entries the export contains.
    ``progress`` is told ("export", entries written, entries to write) every batch.
    """
    checkpoints = session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size)).all()
    keys = session.scalars(select(AuditSigningKey).order_by(AuditSigningKey.key_id)).all()
    with out_path.open("w", encoding="utf-8") as out:
        _write(out, {"kind": "header", "format": EXPORT_FORMAT, "public_keys": [
            {"key_id": key.key_id, "public_key": _b64(key.public_key)} for key in keys
        ]})  # fmt: skip
        for checkpoint in checkpoints:
            _write(out, _checkpoint_record(checkpoint))
        entries = _write_entries(session, out, progress)
    return ExportSummary(entries=entries, checkpoints=len(checkpoints))


def _write_entries(session: Session, out: IO[str], progress: Progress) -> int:
    total = integrated_entries(session)
    rows = session.execute(
        select(AuditEntry.tree_index, AuditEntry.leaf_hash, AuditEntry.entry)
        .where(AuditEntry.tree_index.is_not(None))
        .order_by(AuditEntry.tree_index)
        .execution_options(yield_per=STREAM_BATCH)
    )
    count = 0
    for index, leaf, entry in rows:
        _write(out, {"kind": "entry", "index": index, "leaf_hash": leaf.hex(), "entry": entry})
        count += 1
        if progress is not None and (count % STREAM_BATCH == 0 or count == total):
            progress("export", count, total)
    return count


def integrated_entries(session: Session) -> int:
    """How many entries have a tree position (from the unique index, not a count)."""
    highest = session.scalar(select(func.max(AuditEntry.tree_index)))
    return 0 if highest is None else highest + 1


def _checkpoint_record(checkpoint: Checkpoint) -> dict[str, Any]:
    return {"kind": "checkpoint", **checkpoint_fields(checkpoint)}


def checkpoint_fields(checkpoint: Checkpoint) -> dict[str, Any]:
    """A signed checkpoint as JSON, the same in exports and in the HTTP API."""
    return {
        "origin": checkpoint.origin,
        "tree_size": checkpoint.tree_size,
        "root_hash": _b64(checkpoint.root_hash),
        "issued_at": checkpoint.issued_at.strftime(TIME_FORMAT),
        "key_id": checkpoint.key_id,
        "signature": _b64(checkpoint.signature),
    }


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _write(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
