"""Attacks on erasure: what is shredded or removed by retention must not be recoverable.

The adversaries: an operator with file access to the instance (the database files, a copy or
a dump of the database, the keyring file as it is now) and a partner reading its inbox.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.cases.models import Case
from gateway.db import Base, transaction
from gateway.delivery.models import Delivery
from gateway.identity.models import Subject
from gateway.keys import Keyring
from gateway.linkage.services import ShredAndForget
from gateway.outbox.models import OutboxMessage
from gateway.retention.services import months_before
from tests.adversarial.conftest import ShredInstance
from tests.cases.factories import create_case, put_case_at, token
from tests.factories import EVA, GGD, RIEC, VLAARDINGEN, bearer, exchange_body
from tests.meetings.factories import add_item, create_meeting, publish

# Distinctive art. 9 content: found anywhere in the files, it was stored in plaintext.
HEALTH_FINDING = "zwangerschap-week-14-en-onbehandelde-soa"
REIDENTIFICATION_REASON = "Eva Jansen woont volgens de wijkagent boven de shoarmazaak"
CASE_TITLE = "Casus Havenstraat 12 boven de shoarmazaak"
CASE_MONTHS = 60  # policies/covenants/riec-rr-mensenhandel.yaml, retention.case


def _send(app: Flask, http: FlaskClient, sender: str, **overrides: Any) -> None:
    response = http.post("/v1/exchanges", json=exchange_body(**overrides),
                         headers=bearer(app, sender))
    assert response.status_code == 201, response.json


def _send_identified(app: Flask, http: FlaskClient) -> None:
    """The municipality at dossiervorming: the RIEC receives Eva identified."""
    _send(app, http, VLAARDINGEN, process_step="dossiervorming")


def _send_health(app: Flask, http: FlaskClient) -> None:
    """The GGD's health finding about Eva (art. 9), pseudonymised towards the RIEC."""
    _send(app, http, GGD, items=[{"category": "gezondheid", "subject_ref": "p1",
                                  "content": {"bevinding": HEALTH_FINDING}}])


def _inbox(app: Flask, http: FlaskClient) -> Any:
    return http.get("/v1/inbox", headers=bearer(app, RIEC))


def _the_subject(app: Flask) -> Subject:
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        return session.scalars(select(Subject)).one()


def _database_bytes(instance: ShredInstance) -> bytes:
    """Everything an operator with file access can read of the database."""
    if instance.backend == "sqlite":
        database = instance.settings.database_url.removeprefix("sqlite:///")
        return b"".join(Path(f"{database}{suffix}").read_bytes()
                        for suffix in ("", "-wal", "-shm")
                        if Path(f"{database}{suffix}").exists())
    url = instance.settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    dump = subprocess.run(["pg_dump", "--no-owner", url], check=True,  # noqa: S603, S607  # fixed command line
                          capture_output=True).stdout
    return dump + _raw_pages(instance, "identity_subject")


def _raw_pages(instance: ShredInstance, table: str) -> bytes:
    """The table's heap pages as stored, dead tuples included (pageinspect)."""
    with transaction(instance.app.extensions["ketenpoort"].session_factory) as session:
        session.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        blocks = session.scalar(text(
            "SELECT pg_relation_size(CAST(:t AS regclass)) / current_setting('block_size')::int"),
            {"t": table})
        return b"".join(session.scalar(text("SELECT get_raw_page(:t, :b)"), {"t": table, "b": b})
                        for b in range(int(blocks or 0)))


def _opens_with_keyring(keyring_path: Path, wrapped_key: bytes) -> bool:
    """Whether any identity master key version in the keyring unwraps ``wrapped_key``."""
    keyring = Keyring.load(keyring_path)
    for master in keyring.symmetric["identity-master"].values():
        try:
            aes_key_unwrap(master, wrapped_key)
        except InvalidUnwrap:
            continue
        return True
    return False


def _hex_and_raw(value: bytes) -> list[bytes]:
    # pg_dump writes bytea as hex; SQLite pages hold the raw bytes.
    return [value, value.hex().encode(), base64.b64encode(value)]


def test_an_operator_cannot_recover_a_shredded_identity_from_the_database_or_a_copy(
    shred_instance: ShredInstance,
) -> None:
    app = shred_instance.app
    http = app.test_client()
    _send_identified(app, http)
    # What a backup taken before the shred holds: the row as it was, key and ciphertext.
    before = _the_subject(app)
    assert before.wrapped_data_key is not None
    assert before.ciphertext is not None
    assert _opens_with_keyring(shred_instance.settings.keyring_path, before.wrapped_data_key)

    shred_instance.cli("identity", "shred", "--subject-id", before.id)

    files = _database_bytes(shred_instance)
    for plaintext in (EVA["bsn"], EVA["family_name"], EVA["given_names"]):
        assert plaintext.encode() not in files
    if shred_instance.backend == "sqlite":
        # Freed cells are zeroed and the WAL is emptied: the old key and ciphertext are gone.
        for secret in (before.wrapped_data_key, before.ciphertext):
            assert not any(form in files for form in _hex_and_raw(secret))
    else:
        # A dump holds live rows only; dead tuples may keep the old row on PostgreSQL.
        dump = files[: files.index(b"PostgreSQL database dump complete")]
        assert not any(form in dump for form in _hex_and_raw(before.wrapped_data_key))
    # Whatever copy survives (a dead tuple, the WAL, a backup), the keyring as it is now
    # no longer unwraps the shredded person's data key: its epoch was retired.
    assert not _opens_with_keyring(shred_instance.settings.keyring_path,
                                   before.wrapped_data_key)


def test_art9_content_is_not_stored_in_plaintext_yet_reaches_its_recipient(
    shred_instance: ShredInstance,
) -> None:
    app = shred_instance.app
    http = app.test_client()
    _send_health(app, http)

    assert HEALTH_FINDING.encode() not in _database_bytes(shred_instance)
    response = _inbox(app, http)
    assert response.status_code == 200, response.json
    [delivery] = response.json["items"]
    assert delivery["items"][0]["content"] == {"bevinding": HEALTH_FINDING}


def test_the_database_files_keyring_and_instance_folder_are_owner_only(
    shred_instance: ShredInstance,
) -> None:
    if shred_instance.backend != "sqlite":
        pytest.skip("PostgreSQL keeps its files under its own account")
    app = shred_instance.app
    _send_health(app, app.test_client())
    database = Path(shred_instance.settings.database_url.removeprefix("sqlite:///"))
    files = [Path(f"{database}{s}") for s in ("", "-wal", "-shm")]
    files.append(shred_instance.settings.keyring_path)

    for path in files:
        assert path.exists(), path
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))
    instance_mode = stat.S_IMODE(shred_instance.settings.instance_path.stat().st_mode)
    assert instance_mode & 0o077 == 0, oct(instance_mode)


def test_a_partner_reading_its_inbox_after_a_shred_sees_shredded_not_an_error(
    gateway_app: Flask, http: FlaskClient,
) -> None:
    _send_identified(gateway_app, http)
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        [subject_id] = session.scalars(select(Subject.id)).all()
        ShredAndForget(container.vault).shred(session, subject_id)

    response = _inbox(gateway_app, http)

    assert response.status_code == 200, response.json
    [subject] = response.json["items"][0]["subjects"]
    assert subject["identity"] == "shredded"
    assert "identifiers" not in subject
    [read] = [e for e in _audit_entries(gateway_app) if e["action"] == "inbox.read"]
    assert read["identities_disclosed"] == []


def _audit_entries(app: Flask) -> list[dict[str, Any]]:
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        return [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]


def _every_stored_value(session: Session) -> str:
    """The whole database as text, table by table, as ``grep`` over a dump would see it."""
    rows = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            rows.append(repr(tuple(row)))
    return "\n".join(rows)


def test_nothing_of_a_removed_case_or_its_shredded_person_is_left_after_retention(
    gateway_app: Flask, http: FlaskClient, session: Session,
) -> None:
    app = gateway_app
    case_id: str = create_case(app, http, people=1)["id"]
    put_case_at(app, case_id, "dossiervorming", assigned=VLAARDINGEN)
    body = exchange_body(case_id=case_id)
    del body["process_step"]
    assert http.post("/v1/exchanges", json=body,
                     headers=token(app, VLAARDINGEN, ("exchange:write",))).status_code == 201
    pseudonym = session.scalars(select(Delivery).where(Delivery.recipient == RIEC)
                                .order_by(Delivery.seq.desc())).first().payload[  # type: ignore[union-attr]  # delivered above
        "subjects"][0]["pseudonym"]
    asked = http.post("/v1/reidentifications", json={
        "pseudonym": pseudonym, "reason": REIDENTIFICATION_REASON, "case_id": case_id},
        headers=bearer(app, RIEC, ("reidentify",)))
    assert asked.status_code in (200, 202), asked.json
    meeting_id = create_meeting(app, http, [VLAARDINGEN, RIEC])
    add_item(app, http, meeting_id, case_id, CASE_TITLE)
    publish(app, http, meeting_id)
    case = session.get_one(Case, case_id)
    today = app.extensions["ketenpoort"].clock.now()
    case.step, case.closed_at = "gesloten", months_before(today, CASE_MONTHS) - timedelta(1)
    session.flush()
    assert CASE_TITLE in _every_stored_value(session) or _queued_agenda_views(session)

    assert app.extensions["ketenpoort"].retention.run().cases == 1

    session.expire_all()
    leftovers = _every_stored_value(session)
    for text_about_the_person in (CASE_TITLE, f"Welke aanpak voor {CASE_TITLE}?",
                                  "Bestuurlijke aanpak door de gemeente",
                                  REIDENTIFICATION_REASON):
        assert text_about_the_person not in leftovers
    assert _queued_agenda_views(session) == []


def _queued_agenda_views(session: Session) -> list[str]:
    return list(session.scalars(select(OutboxMessage.id)
                                .where(OutboxMessage.kind == "agenda.view")))


def test_linkage_rows_of_a_shredded_person_are_gone(gateway_app: Flask, http: FlaskClient,
                                                     session: Session) -> None:
    _send(gateway_app, http, VLAARDINGEN)
    _send(gateway_app, http, VLAARDINGEN, subjects=[{"ref": "p1", "role": "slachtoffer",
                                                     "identifiers": {**EVA, "bsn": "123456782",
                                                                     "family_name": "Janssen"}}])
    linkage_tables = [t for t in Base.metadata.sorted_tables if t.name.startswith("linkage_")]
    assert session.execute(text("SELECT count(*) FROM linkage_candidates")).scalar() == 1
    container = gateway_app.extensions["ketenpoort"]
    for subject_id in session.scalars(select(Subject.id)).all():
        with transaction(container.session_factory) as shredding:
            ShredAndForget(container.vault).shred(shredding, subject_id)

    for table in linkage_tables:
        assert session.execute(select(table)).all() == [], table.name


def test_the_process_umask_leaves_new_files_owner_only(tmp_path: Path,
                                                        shred_instance: ShredInstance) -> None:
    # `ketenpoort init` (run by the fixture) set it: whatever the gateway writes later, such
    # as an export, is not readable by other accounts on the machine.
    exported = tmp_path / "log.jsonl"
    shred_instance.cli("audit", "export", "--out", str(exported))
    assert stat.S_IMODE(os.stat(exported).st_mode) & 0o077 == 0
