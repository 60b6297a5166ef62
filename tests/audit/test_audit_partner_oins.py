"""The log names each partner's OIN beside its slug (issue 19: read against Digikoppeling/FSC
records), and a log holding entries from before that change still verifies offline."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.export import export_log
from audit.log import AuditLog, Sequencer
from audit.models import AuditEntry
from gateway.clock import ManualClock
from gateway.keys import Keyring

REPO_ROOT = Path(__file__).resolve().parents[2]
MakeEvent = Callable[..., dict[str, Any]]
# The audit conftest's exchange event: Vlaardingen sends to "riec-rotterdam".
OINS = {"gemeente-vlaardingen": "99999999000000001000", "riec-rotterdam": "99999999000000005000"}


def _registry(partner_id: str) -> str | None:
    """Vlaardingen and the RIEC have an OIN; the police, and partners never registered, none."""
    return OINS.get(partner_id)


def _stored(session: Session, event_id: str) -> dict[str, Any]:
    entry = session.scalars(select(AuditEntry.entry).where(AuditEntry.event_id == event_id)).one()
    return dict(json.loads(entry))


def test_the_actor_and_each_recipient_are_named_by_oin_too(
    session: Session, clock: ManualClock, make_event: MakeEvent
) -> None:
    event = make_event()
    sent = copy.deepcopy(event)
    entry = _stored(session, AuditLog(clock.now, oins=_registry).append(session, event))

    assert entry["actor"] == {"partner": "gemeente-vlaardingen",
                              "client": "vlaardingen-zaaksysteem",
                              "oin": OINS["gemeente-vlaardingen"]}
    assert entry["decisions"] == [{"recipient": "riec-rotterdam", "allow": True,
                                   "identity": "pseudonym",
                                   "recipient_oin": OINS["riec-rotterdam"]}]
    assert entry["recipients"] == ["riec-rotterdam"]  # the slugs stay as they were
    assert event == sent  # the caller's event is not changed


def test_a_delivery_recipient_a_requester_and_a_reviewer_are_named_by_oin_too(
    session: Session, clock: ManualClock
) -> None:
    log = AuditLog(clock.now, oins=_registry)
    delivery = _stored(session, log.append(session, {
        "action": "outbox.delivered", "actor": {"system": "outbox"},
        "recipient": "riec-rotterdam"}))
    approval = _stored(session, log.append(session, {
        "action": "reidentification.approved",
        "actor": {"partner": "riec-rotterdam", "client": "c", "person": "u-1"},
        "requester": {"partner": "gemeente-vlaardingen", "client": "c-2"},
        "first_reviewer": {"partner": "riec-rotterdam", "client": "c"}}))

    assert delivery["recipient_oin"] == OINS["riec-rotterdam"]
    assert delivery["actor"] == {"system": "outbox"}
    assert approval["actor"]["oin"] == approval["first_reviewer"]["oin"] == OINS["riec-rotterdam"]
    assert approval["requester"]["oin"] == OINS["gemeente-vlaardingen"]


def test_a_partner_without_an_oin_keeps_its_slug_alone(
    session: Session, clock: ManualClock, make_event: MakeEvent
) -> None:
    event = make_event(actor={"partner": "politie-rotterdam", "client": "p-1"},
                       recipients=["onbekende-partner"],
                       decisions=[{"recipient": "onbekende-partner", "allow": False}])
    entry = _stored(session, AuditLog(clock.now, oins=_registry).append(session, event))

    assert entry["actor"] == {"partner": "politie-rotterdam", "client": "p-1"}
    assert entry["decisions"] == [{"recipient": "onbekende-partner", "allow": False}]


def test_a_log_with_entries_from_before_and_after_oins_verifies_offline(
    session: Session, clock: ManualClock, make_event: MakeEvent, sequencer: Sequencer,
    keyring: Keyring, tmp_path: Path,
) -> None:
    before = AuditLog(clock.now)  # as the log was written before it named OINs
    after = AuditLog(clock.now, oins=_registry)
    old = before.append(session, make_event(exchange_id="ex-old"))
    new = after.append(session, make_event(exchange_id="ex-new"))
    session.commit()
    sequencer.run_once()
    assert "oin" not in _stored(session, old)["actor"]
    assert "oin" in _stored(session, new)["actor"]
    export = tmp_path / "audit-export.jsonl"
    export_log(session, export)
    pem = tmp_path / "checkpoint.pem"
    pem.write_bytes(keyring.signing_key("audit-checkpoint").public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    verified = subprocess.run(  # noqa: S603 -- fixed interpreter and arguments, no shell
        [sys.executable, "-m", "audit.verify", str(export), "--public-key", str(pem)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False)

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK: 2 entries")
