"""Case factories: signals sent to the RIEC, cases built from them, cases moved to a step,
and a demo covenant with extra grants."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.cases.models import Case, CaseAssignment
from gateway.db import session_now, transaction
from gateway.delivery.models import Delivery
from gateway.settings import Settings
from tests.conftest import SEALING_LAG_OF_A_TEST_APP
from tests.factories import EVA, PIETER, RIEC, VLAARDINGEN, bearer, exchange_body

DEMO_COVENANT_FILE = "riec-rr-mensenhandel.yaml"
CASE_WRITE = ("case:write",)
CASE_READ = ("case:read",)


def token(app: Flask, partner: str, scopes: tuple[str, ...]) -> dict[str, str]:
    """:func:`tests.factories.bearer`, once per app, partner and scopes: a client's secret
    is hashed deliberately slowly, and the matrix tests make hundreds of calls."""
    issued: dict[tuple[str, tuple[str, ...]], dict[str, str]] = app.extensions.setdefault(
        "test_tokens", {})
    if (partner, scopes) not in issued:
        issued[(partner, scopes)] = bearer(app, partner, scopes)
    return issued[(partner, scopes)]


def send_signal(app: Flask, http: FlaskClient, sender: str = VLAARDINGEN,
                identifiers: tuple[dict[str, str], ...] = (EVA, PIETER)) -> str:
    """A detectie signal about ``identifiers`` from ``sender`` to the RIEC; its exchange id."""
    roles = ("slachtoffer", "dader", "faciliteerder")
    body = exchange_body(
        subjects=[{"ref": f"p{i}", "role": roles[i % 3], "identifiers": dict(person)}
                  for i, person in enumerate(identifiers)],
        items=[{"category": "uitbuitingssignalen", "subject_ref": f"p{i}",
                "content": {"indicators": ["schulden-bij-werkgever"]}}
               for i in range(len(identifiers))],
    )
    response = http.post("/v1/exchanges", json=body,
                         headers=token(app, sender, ("exchange:write",)))
    assert response.status_code == 201, response.json
    exchange_id: str = response.json["id"]
    return exchange_id


def riec_pseudonyms(app: Flask, exchange_id: str) -> list[str]:
    """The RIEC's own pseudonyms of the persons in one of its deliveries, in subject order."""
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        delivery = session.scalars(select(Delivery).where(
            Delivery.exchange_id == exchange_id, Delivery.recipient == RIEC)).one()
        return [s["pseudonym"] for s in delivery.payload["subjects"]]


def case_body(signals: list[str], pseudonyms: list[str]) -> dict[str, Any]:
    roles = ("slachtoffer", "dader", "faciliteerder")
    return {
        "covenant": "riec-rr-mensenhandel",
        "signals": signals,
        "subjects": [{"pseudonym": p, "role": roles[i % 3]} for i, p in enumerate(pseudonyms)],
        "case_manager": VLAARDINGEN,
    }


def create_case(app: Flask, http: FlaskClient, people: int = 2) -> dict[str, Any]:
    """A case at detectie, built by the RIEC from one signal about ``people`` persons."""
    signal = send_signal(app, http, identifiers=(EVA, PIETER)[:people])
    response = http.post("/v1/cases", json=case_body([signal], riec_pseudonyms(app, signal)),
                         headers=token(app, RIEC, CASE_WRITE))
    assert response.status_code == 201, response.json
    case: dict[str, Any] = response.json
    return case


def put_case_at(app: Flask, case_id: str, step: str, *, assigned: str | None = None,
                state: str = "accepted") -> None:
    """Set a case's step directly (the moves themselves are what other tests exercise)."""
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        case = session.get_one(Case, case_id)
        case.step = step
        if assigned is not None:
            session.add(CaseAssignment(
                id=str(uuid.uuid4()),
                case_id=case_id, partner=assigned, intervention="bestuurlijke aanpak",
                priority="normaal", state=state, offered_at=session_now(session)))


def settings_with_grants(tmp_path: Path, policies: Path, grants: str) -> Settings:
    """A test app's settings over a copy of the policies tree at ``policies`` whose demo
    covenant starts its grants with ``grants`` (YAML list entries)."""
    return Settings(instance_path=tmp_path / "instance",
                    policies_path=_policies_with_grants(policies, tmp_path / "policies", grants),
                    audit_max_lag_seconds=SEALING_LAG_OF_A_TEST_APP)


def _policies_with_grants(source: Path, target: Path, grants: str) -> Path:
    for path in source.rglob("*"):
        copy = target / path.relative_to(source)
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_bytes()
            if path.name == DEMO_COVENANT_FILE:
                text = text.replace(b"grants:\n", f"grants:\n{grants}".encode(), 1)
            copy.write_bytes(text)
    return target


def case_manager_grant(grant_id: str, recipients: list[str], step: str) -> str:
    """A demo covenant grant (YAML) from the RIEC, of interventie, pseudonymised, at ``step``,
    to whichever of ``recipients`` is the case's case manager."""
    return f"""  - id: {grant_id}
    providers: [{RIEC}]
    recipients: [{", ".join(recipients)}]
    categories: [interventie]
    process_steps: [{step}]
    purpose: ketenaanpak-mensenhandel
    identity: pseudonym
    requires_case_manager: true
"""
