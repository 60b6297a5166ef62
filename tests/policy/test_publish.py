"""``covenant publish``: refused with nothing written or audited, or written, audited and live."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from audit.log import AuditLog
from audit.models import AuditEntry
from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.container import build_container
from gateway.db import make_session_factory
from gateway.exchange.models import Exchange
from gateway.keys import Keyring
from gateway.policy.cli import covenant_commands
from gateway.policy.covenants import CovenantError, PolicyBundle
from gateway.policy.models import CovenantPublication
from gateway.policy.publish import CovenantPublisher
from gateway.settings import Settings
from tests.factories import VLAARDINGEN, bearer, exchange_body

from .test_reload import RIEC_FILE

COVENANT = "riec-rr-mensenhandel"


def draft(
    policies: Path, folder: Path, version: str, *, edit: Callable[[str], str] = str
) -> Path:
    """The demo covenant at ``version``, edited, written to ``folder`` as an author's draft."""
    text = (policies / RIEC_FILE).read_text(encoding="utf-8")
    text = edit(text.replace('version: "2026.1"', f'version: "{version}"'))
    folder.mkdir(exist_ok=True)
    path = folder / RIEC_FILE.name
    path.write_text(text, encoding="utf-8")
    return path


def audit_events(session: Session) -> list[dict[str, Any]]:
    return [json.loads(entry) for entry in session.scalars(select(AuditEntry.entry))]


@pytest.fixture
def publisher(
    policies_copy: Path, connection: Connection, clock: ManualClock
) -> CovenantPublisher:
    return CovenantPublisher(policies_copy, make_session_factory(connection, clock),
                             AuditLog(clock.now))


def test_a_sound_newer_version_is_written_recorded_and_audited(
    publisher: CovenantPublisher, policies_copy: Path, tmp_path: Path, session: Session
) -> None:
    old_hash = PolicyBundle.load(policies_copy).hash
    file = draft(policies_copy, tmp_path / "drafts", "2026.2")

    publication = publisher.publish(file, "privacy-officer")

    assert (policies_copy / RIEC_FILE).read_bytes() == file.read_bytes()
    new_hash = PolicyBundle.load(policies_copy).hash
    assert (publication.old_bundle_hash, publication.new_bundle_hash) == (old_hash, new_hash)
    [event] = audit_events(session)
    assert event["event_id"] == publication.audit_event_id
    assert {k: event[k] for k in ("action", "covenant", "version", "previous_version",
                                  "old_bundle_hash", "new_bundle_hash", "operator")} == {
        "action": "covenant.published", "covenant": COVENANT, "version": "2026.2",
        "previous_version": "2026.1", "old_bundle_hash": old_hash, "new_bundle_hash": new_hash,
        "operator": "privacy-officer",
    }
    [row] = session.scalars(select(CovenantPublication))
    assert (row.covenant, row.version, row.audit_event_id) == (
        COVENANT, "2026.2", publication.audit_event_id)
    assert [p.name for p in (policies_copy / "covenants").iterdir() if p.name.startswith(".")] == []


def test_a_new_covenant_is_published_beside_the_others(
    publisher: CovenantPublisher, policies_copy: Path, tmp_path: Path, session: Session
) -> None:
    text = (policies_copy / "covenants" / "zvh-rijnmond-zorg.yaml").read_text(encoding="utf-8")
    file = tmp_path / "zvh-schiedam-pilot.yaml"
    file.write_text(text.replace("id: zvh-rijnmond-zorg", "id: zvh-schiedam-pilot"))

    publication = publisher.publish(file, "privacy-officer")

    assert (publication.covenant, publication.previous_version) == ("zvh-schiedam-pilot", None)
    covenants = PolicyBundle.load(policies_copy).data["ketenpoort"]["covenants"]
    assert {"zvh-rijnmond-zorg", "zvh-schiedam-pilot"} <= set(covenants)
    [event] = audit_events(session)
    assert (event["covenant"], event["previous_version"]) == ("zvh-schiedam-pilot", None)


REFUSALS: dict[str, tuple[str, Callable[[str], str], str]] = {
    # name: (version, edit of the draft, expected message fragment)
    "schema violation": ("2026.2", lambda text: text + "unexpected_key: 1\n",
                         "Additional properties"),
    "unknown partner": (
        "2026.2",
        lambda text: text.replace("partner: politie-rotterdam", "partner: politie-onbekend", 1),
        "'politie-onbekend' is no registered partner",
    ),
    "same version": ("2026.1", str, "version '2026.1' is not greater than version '2026.1'"),
    "older version": ("2025.9", str, "is not greater than version '2026.1' in force"),
    "unordered version": ("v2", str, "must be dotted numbers"),
}


@pytest.mark.parametrize(("version", "edit", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_publication_writes_and_audits_nothing(
    publisher: CovenantPublisher, policies_copy: Path, tmp_path: Path, session: Session,
    version: str, edit: Callable[[str], str], message: str,
) -> None:
    file = draft(policies_copy, tmp_path / "drafts", version, edit=edit)
    before = sorted((p.name, p.read_bytes()) for p in (policies_copy / "covenants").iterdir())

    with pytest.raises(CovenantError) as refusal:
        publisher.publish(file, "privacy-officer")

    assert any(message in line and line.startswith(f"{file}:") for line in refusal.value.messages)
    after = sorted((p.name, p.read_bytes()) for p in (policies_copy / "covenants").iterdir())
    assert after == before
    assert audit_events(session) == []
    assert session.scalars(select(CovenantPublication)).all() == []


def test_version_refusal_names_the_line_of_the_version(
    publisher: CovenantPublisher, policies_copy: Path, tmp_path: Path
) -> None:
    file = draft(policies_copy, tmp_path / "drafts", "2026.1")
    line = file.read_text().splitlines().index('version: "2026.1"') + 1
    with pytest.raises(CovenantError) as refusal:
        publisher.publish(file, "privacy-officer")
    assert refusal.value.messages[0].startswith(f"{file}:{line}: ")


def test_a_failed_audit_write_leaves_the_old_file(
    policies_copy: Path, tmp_path: Path, connection: Connection
) -> None:
    class BrokenAudit:
        def append(self, session: Session, event: dict[str, Any]) -> str:
            raise RuntimeError("audit log unavailable")

    original = (policies_copy / RIEC_FILE).read_bytes()
    publisher = CovenantPublisher(policies_copy, make_session_factory(connection), BrokenAudit())
    with pytest.raises(RuntimeError):
        publisher.publish(draft(policies_copy, tmp_path / "drafts", "2026.2"), "someone")
    assert (policies_copy / RIEC_FILE).read_bytes() == original
    assert sorted(p.name for p in (policies_copy / "covenants").iterdir()) == [
        "riec-rr-mensenhandel.yaml", "zvh-rijnmond-zorg.yaml"]


def test_a_running_gateway_decides_with_the_published_version_without_restart(
    policies_copy: Path, tmp_path: Path, connection: Connection, keyring: Keyring,
    session: Session,
) -> None:
    settings = Settings(instance_path=tmp_path / "instance", policies_path=policies_copy,
                        policy_reload_seconds=0)
    app = create_app(settings, bind=connection, keyring=keyring)
    http: Any = app.test_client()
    headers = bearer(app, VLAARDINGEN)
    first = http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    container = app.extensions["ketenpoort"]
    publisher = CovenantPublisher(policies_copy, container.session_factory, container.audit)
    publication = publisher.publish(draft(policies_copy, tmp_path / "drafts", "2026.2"), "po")
    second = http.post("/v1/exchanges", json=exchange_body(), headers=headers)

    assert first.status_code == second.status_code == 201, (first.json, second.json)
    versions = {row.id: row.covenant_version for row in session.scalars(select(Exchange))}
    assert versions == {first.json["id"]: "2026.1", second.json["id"]: "2026.2"}
    exchange_events = [e for e in audit_events(session) if e["action"] == "exchange.delivered"]
    assert [e["bundle_hash"] for e in exchange_events] == [
        publication.old_bundle_hash, publication.new_bundle_hash]
    assert http.get("/readyz").json["checks"]["policy"]["bundle_hash"] == (
        publication.new_bundle_hash)


def test_readyz_reports_a_tree_that_fails_to_reload(
    policies_copy: Path, tmp_path: Path, connection: Connection, keyring: Keyring
) -> None:
    settings = Settings(instance_path=tmp_path / "instance", policies_path=policies_copy,
                        policy_reload_seconds=0)
    http: Any = create_app(settings, bind=connection, keyring=keyring).test_client()
    good = http.get("/readyz").json["checks"]["policy"]
    (policies_copy / RIEC_FILE).write_text("id: riec-rr-mensenhandel\n")

    response = http.get("/readyz")

    policy = response.json["checks"]["policy"]
    assert response.status_code == 200, "the last good bundle still decides"
    assert policy["bundle_hash"] == good["bundle_hash"]
    assert policy["reload_failed"]["problems"] >= 1
    assert str(policies_copy) not in json.dumps(policy), "paths stay in the log"


def test_publish_command_prints_the_publication(
    policies_copy: Path, tmp_path: Path, connection: Connection, keyring: Keyring
) -> None:
    context = build_container(
        Settings(instance_path=tmp_path / "instance", policies_path=policies_copy),
        bind=connection, keyring=keyring,
    )
    file = draft(policies_copy, tmp_path / "drafts", "2026.2")
    result = CliRunner().invoke(covenant_commands, ["publish", str(file)], obj=context)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"published {COVENANT} version 2026.2 (was 2026.1) to ")

    again = CliRunner().invoke(covenant_commands, ["publish", str(file)], obj=context)
    assert again.exit_code == 1
    assert "is not greater than version '2026.2' in force" in again.output
    assert f"{file}: not published" in again.output
