"""Audit log benchmarks: offline verification of a large export, and sequencer throughput.

    python bench/audit_bench.py [--entries 1000000] [--sequenced 20000] [--database-url URL]

The database benchmark creates the schema in the database it is given (default: a temporary
SQLite file); point it at a scratch PostgreSQL database, never at one holding real data.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit import merkle
from audit.canonical import canonical_entry
from audit.log import AuditLog, CheckpointSigner, Sequencer
from audit.note import TIME_FORMAT
from audit.verify import EXPORT_FORMAT, verify_export
from gateway import db
from gateway.clock import SYSTEM_CLOCK

CHECKPOINT_EVERY = 100_000


def _event(position: int) -> dict[str, object]:
    return {
        "action": "exchange.delivered",
        "actor": {"partner": "politie-rotterdam", "client": "bvh-koppeling"},
        "subjects": [f"ap-{position:08x}", f"ap-{position * 7:08x}"],
        "categories": ["signaal", "strafrechtelijk"],
        "covenant": "rotterdam-rijnmond-mensenhandel",
        "covenant_version": "2025-03",
        "purpose": "signaalverwerking",
        "process_step": "detectie",
        "recipients": ["riec-rotterdam"],
        "decisions": [{"recipient": "riec-rotterdam", "allow": True}],
        "bundle_hash": "sha256:9f2b",
        "exchange_id": f"ex-{position}",
        "event_id": f"00000000-0000-4000-8000-{position:012x}",
        "recorded_at": "2026-11-29T05:00:00.000000Z",
    }


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def write_synthetic_export(path: Path, count: int, signer: CheckpointSigner) -> None:
    entries = [canonical_entry(_event(position)) for position in range(count)]
    leaves = [merkle.leaf_hash(entry) for entry in entries]
    tree = merkle.CompactRange()
    checkpoints = []
    for size in [*range(CHECKPOINT_EVERY, count, CHECKPOINT_EVERY), count]:
        tree.extend(leaves[tree.size : size])
        signed = signer.sign(size, tree.root(), SYSTEM_CLOCK.now())
        checkpoints.append(
            {
                "kind": "checkpoint",
                "origin": signed.body.origin,
                "tree_size": size,
                "root_hash": _b64(signed.body.root_hash),
                "issued_at": signed.body.issued_at.strftime(TIME_FORMAT),
                "key_id": signed.key_id,
                "signature": _b64(signed.signature),
            }
        )
    header = {
        "kind": "header",
        "format": EXPORT_FORMAT,
        "public_keys": [{"key_id": signer.key_id, "public_key": _b64(signer.public_key)}],
    }
    with path.open("w", encoding="utf-8") as out:
        for record in [header, *checkpoints]:
            out.write(json.dumps(record) + "\n")
        for index, (entry, leaf) in enumerate(zip(entries, leaves, strict=True)):
            out.write(
                json.dumps(
                    {
                        "kind": "entry",
                        "index": index,
                        "leaf_hash": leaf.hex(),
                        "entry": entry.decode(),
                    }
                )
                + "\n"
            )


def bench_verification(count: int, directory: Path) -> None:
    private_key = Ed25519PrivateKey.generate()
    signer = CheckpointSigner(private_key)
    path = directory / "export.jsonl"
    started = time.perf_counter()
    write_synthetic_export(path, count, signer)
    print(f"wrote {count:,} entries ({path.stat().st_size / 1e6:.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    started = time.perf_counter()
    report = verify_export(path, private_key.public_key())
    elapsed = time.perf_counter() - started
    assert report.ok, report.summary()
    print(f"offline verification: {count:,} entries, {report.checkpoints} checkpoints in "
          f"{elapsed:.2f} s ({count / elapsed:,.0f} entries/s)")  # fmt: skip
    started = time.perf_counter()
    merkle.root_hash([merkle.leaf_hash(str(i).encode()) for i in range(count)])
    print(f"level-by-level root of {count:,} leaves (incl. leaf hashing): "
          f"{time.perf_counter() - started:.2f} s")  # fmt: skip


def bench_sequencer(url: str, count: int) -> None:
    engine = db.make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    audit_log = AuditLog(SYSTEM_CLOCK.now)
    started = time.perf_counter()
    for first in range(0, count, 100):
        with db.transaction(factory) as session:
            for position in range(first, min(first + 100, count)):
                event = _event(position)
                del event["event_id"], event["recorded_at"]
                audit_log.append(session, event)
    elapsed = time.perf_counter() - started
    print(f"[{engine.dialect.name}] append: {count:,} entries, 100 per transaction, "
          f"{count / elapsed:,.0f} entries/s")  # fmt: skip
    sequencer = Sequencer(factory, CheckpointSigner(Ed25519PrivateKey.generate()))
    started = time.perf_counter()
    integrated = sequencer.run_once()
    elapsed = time.perf_counter() - started
    print(f"[{engine.dialect.name}] sequencer: {integrated:,} entries in {elapsed:.2f} s "
          f"({integrated / elapsed:,.0f} entries/s, batches of 1000, one checkpoint)")  # fmt: skip
    with db.transaction(factory) as session:
        event_id = session.execute(text("SELECT event_id FROM audit_entries WHERE tree_index = 7"))
        target = event_id.scalar_one()
        started = time.perf_counter()
        for _ in range(100):
            audit_log.inclusion_proof(session, target, integrated)
            audit_log.consistency_proof(session, integrated // 3 + 1, integrated)
        per_pair = (time.perf_counter() - started) / 100 * 1000
    print(f"[{engine.dialect.name}] inclusion + consistency proof from the database at size "
          f"{integrated:,}: {per_pair:.1f} ms")  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--sequenced", type=int, default=20_000)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        bench_verification(arguments.entries, Path(directory))
        url = arguments.database_url or f"sqlite:///{directory}/bench.sqlite3"
        bench_sequencer(url, arguments.sequenced)


if __name__ == "__main__":
    main()
