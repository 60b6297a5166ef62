"""``ketenpoort audit verify|export|sequencer`` on the live log, and tampering it catches.

Tampering needs the append-only triggers out of the way, as an attacker with DDL rights would:
on SQLite by dropping a trigger, on PostgreSQL by replica mode (superuser). Both happen inside
the test's transaction, which rolls them back.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from audit import merkle
from audit.log import DEFAULT_ORIGIN, AuditLog, CheckpointSigner, Sequencer
from audit.models import AuditEntry, Checkpoint
from audit.note import verifier_key
from audit.verify import verify_export
from gateway import db
from gateway.auditing.cli import audit_commands
from gateway.container import Container
from gateway.keys import Keyring

from .conftest import exchange_event

ENTRIES = 13  # not a power of two: the tree has a ragged right edge


@pytest.fixture
def factory(connection: Connection) -> sessionmaker[Session]:
    return db.make_session_factory(connection)


@pytest.fixture
def invoke(container: Container) -> Callable[..., Result]:
    def run(*args: str) -> Result:
        return CliRunner().invoke(audit_commands, list(args), obj=container)

    return run


def _append(factory: sessionmaker[Session], count: int) -> None:
    with db.transaction(factory) as session:
        for number in range(count):
            AuditLog(lambda: db.session_now(session)).append(
                session, exchange_event("a", ["b"], [True], [f"ap-{number}"]))


@pytest.fixture
def sealed_log(factory: sessionmaker[Session], keyring: Keyring) -> None:
    """Two checkpoints (8 and 13 entries) over a log of 13."""
    sequencer = Sequencer(factory, CheckpointSigner(keyring.signing_key("audit-checkpoint")))
    _append(factory, 8)
    sequencer.run_once()
    _append(factory, ENTRIES - 8)
    sequencer.run_once()


def _tamper(connection: Connection, *statements: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    else:
        for trigger in ("audit_entries_sealed", "audit_tree_nodes_UPDATE_sealed",
                        "audit_checkpoints_UPDATE_sealed", "audit_entries_no_delete"):
            connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
    for statement in statements:
        connection.execute(text(statement))


def test_verify_passes_on_a_clean_log(invoke: Callable[..., Result], sealed_log: None) -> None:
    result = invoke("verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK: {ENTRIES} entries, 2 checkpoints signed by the given")


def test_verify_passes_on_an_empty_log_and_mentions_pending_entries(
    invoke: Callable[..., Result], factory: sessionmaker[Session]
) -> None:
    assert invoke("verify").exit_code == 0
    _append(factory, 2)
    result = invoke("verify")
    assert result.exit_code == 0
    assert "2 entries still wait for the sequencer" in result.output


# The entry edited by rehashing is at index 5; its sibling-pair node (1, 2) covers 4..5.
@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["UPDATE audit_entries SET entry = replace(entry, 'slachtoffer', 'dader') "
          "WHERE tree_index = 10"], "first bad index 10"),
        (["UPDATE audit_entries SET entry = '{}', leaf_hash = "
          "(SELECT leaf_hash FROM audit_entries WHERE tree_index = 4) WHERE tree_index = 5"],
         "first bad index 5"),
        (["UPDATE audit_tree_nodes SET hash = (SELECT hash FROM audit_tree_nodes "
          "WHERE level = 1 AND node_index = 0) WHERE level = 2 AND node_index = 1"],
         "first bad index 4"),
        (["DELETE FROM audit_entries WHERE tree_index = 6"], "first bad index 6"),
        (["DELETE FROM audit_entries WHERE tree_index = 12"], "first bad index 12"),
        (["UPDATE audit_checkpoints SET root_hash = (SELECT root_hash FROM audit_checkpoints "
          "WHERE tree_size = 8) WHERE tree_size = 13"], "checkpoint #1"),
    ],
    ids=["edit-entry", "forge-leaf", "forge-node", "delete-middle", "delete-last",
         "forge-root"],
)
def test_verify_fails_and_names_where(
    invoke: Callable[..., Result], connection: Connection, sealed_log: None,
    statements: list[str], expected: str,
) -> None:
    _tamper(connection, *statements)
    result = invoke("verify")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("FAIL")
    assert expected in result.output


def test_rehashing_an_entry_consistently_is_caught_by_the_stored_tree(
    invoke: Callable[..., Result], connection: Connection, sealed_log: None
) -> None:
    # The forger recomputes the leaf hash and keeps the columns consistent too; the stored
    # node over 2..3 then disagrees.
    original = connection.execute(
        select(AuditEntry.entry).where(AuditEntry.tree_index == 3)).scalar_one()
    entry = original.replace("slachtoffer", "dader")
    forged = merkle.leaf_hash(entry.encode())
    _tamper(connection)
    connection.execute(
        update(AuditEntry)
        .where(AuditEntry.tree_index == 3)
        .values(entry=entry, leaf_hash=forged)
    )
    result = invoke("verify")
    assert result.exit_code == 1
    assert "first bad index 2" in result.output
    assert "stored tree node (1, 1) over entries 2..3 is wrong" in result.output


# Each column stored beside the hashed entry, edited in place at index 7. ``id`` is only the
# write order the sequencer consumed (the tree index is the log's order) and is in no entry.
COLUMN_EDITS: dict[str, object] = {
    "event_id": "00000000-0000-4000-8000-000000000000",
    "recorded_at": datetime(2020, 1, 1, tzinfo=UTC),
    "entry": '{"action":"forged"}',
    "leaf_hash": bytes(32),
    "tree_index": 99,
}


def test_every_stored_column_is_covered() -> None:
    assert set(AuditEntry.__table__.columns.keys()) == {"id", *COLUMN_EDITS}


@pytest.mark.parametrize("column", sorted(COLUMN_EDITS))
def test_verify_reports_an_edit_of_any_column(
    invoke: Callable[..., Result], connection: Connection, sealed_log: None, column: str
) -> None:
    _tamper(connection)
    connection.execute(update(AuditEntry).where(AuditEntry.tree_index == 7)
                       .values({column: COLUMN_EDITS[column]}))
    result = invoke("verify")
    assert result.exit_code == 1, result.output
    assert "first bad index 7" in result.output


def test_an_edited_event_id_is_named(
    invoke: Callable[..., Result], connection: Connection, sealed_log: None
) -> None:
    _tamper(connection)
    connection.execute(update(AuditEntry).where(AuditEntry.tree_index == 3)
                       .values(event_id="00000000-0000-4000-8000-000000000000"))
    result = invoke("verify")
    assert "entry 3: the stored event_id column differs from the hashed entry" in result.output


def test_a_checkpoint_signed_by_another_key_is_refused(
    invoke: Callable[..., Result], sealed_log: None, tmp_path: Path
) -> None:
    other = Keyring.generate().signing_key("audit-checkpoint").public_key()
    pem = tmp_path / "other.pem"
    pem.write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo))
    result = invoke("verify", "--public-key", str(pem))
    assert result.exit_code == 1
    assert "checkpoint #0" in result.output
    assert "unknown key" in result.output
    trusting_the_log = invoke("verify", "--stored-keys")
    assert trusting_the_log.exit_code == 0
    assert "keys embedded in the export" in trusting_the_log.output


def test_the_database_itself_refuses_the_rewrite(
    connection: Connection, sealed_log: None
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
        connection.execute(text("UPDATE audit_entries SET entry = '{}' WHERE tree_index = 1"))


def test_export_writes_what_the_offline_verifier_accepts(
    invoke: Callable[..., Result], sealed_log: None, keyring: Keyring, tmp_path: Path
) -> None:
    out = tmp_path / "audit.jsonl"
    result = invoke("export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"exported {ENTRIES} entries and 2 checkpoints" in result.output
    report = verify_export(out, keyring.signing_key("audit-checkpoint").public_key())
    assert report.ok, report.summary()
    assert report.entries == ENTRIES


def test_sequencer_once_seals_what_is_pending(
    invoke: Callable[..., Result], factory: sessionmaker[Session]
) -> None:
    _append(factory, 3)
    result = invoke("sequencer", "--once")
    assert result.exit_code == 0, result.output
    assert "integrated 3 entries" in result.output
    with factory() as session:
        pending = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.tree_index.is_(None)))
    assert pending == 0
    assert invoke("verify").exit_code == 0


def test_sequencer_refuses_a_non_positive_interval(invoke: Callable[..., Result]) -> None:
    result = invoke("sequencer", "--interval", "0")
    assert result.exit_code == 2
    assert "--interval" in result.output


SEQUENCER_PROCESS = """
import sys
from pathlib import Path
from gateway.auditing.cli import audit_commands
from gateway.container import build_container
from gateway.keys import Keyring
from gateway.settings import Settings
settings = Settings(instance_path=Path(sys.argv[2]).parent, database_url=sys.argv[1])
context = build_container(settings, keyring=Keyring.load(Path(sys.argv[2])))
audit_commands.main(["sequencer", "--interval", "0.05"], obj=context, standalone_mode=False)
print("stopped cleanly")
"""


def test_the_sequencer_process_seals_until_sigterm(tmp_path: Path, keyring: Keyring) -> None:
    url = f"sqlite:///{tmp_path / 'seq.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    keyring.save(tmp_path / "keyring.json")
    factory = db.make_session_factory(engine)
    _append(factory, 4)
    process = subprocess.Popen(  # noqa: S603  # fixed argument list, no shell
        [sys.executable, "-c", SEQUENCER_PROCESS, url, str(tmp_path / "keyring.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        sealed = 0
        while time.monotonic() < deadline and sealed < 4:
            time.sleep(0.1)
            with factory() as session:
                sealed = session.scalar(select(func.max(Checkpoint.tree_size))) or 0
        assert sealed == 4
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "audit sequencer running every 0.05 s" in out
    assert "stopped cleanly" in out
    logged = [json.loads(line) for line in err.splitlines()]
    assert {(line["logger"], line["message"]) for line in logged} >= {
        ("gateway.auditing.runner", "audit sequencer stopped")}
    engine.dispose()


def test_public_key_prints_the_verifier_key_and_the_pem(
    invoke: Callable[..., Result], keyring: Keyring
) -> None:
    result = invoke("public-key")

    assert result.exit_code == 0, result.output
    verifier, pem = result.output.split("\n", 1)
    key = keyring.signing_key("audit-checkpoint").public_key()
    assert verifier == verifier_key(DEFAULT_ORIGIN, key)
    assert serialization.load_pem_public_key(pem.encode()) == key
