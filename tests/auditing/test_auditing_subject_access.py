"""POST /v1/audit/subject-access: one person's entries, only theirs, as JSON or printable HTML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.db import transaction
from tests.factories import (
    EVA,
    PIETER,
    POLITIE,
    RIEC,
    VLAARDINGEN,
    bearer,
    exchange_body,
    item,
)

SAR = "/v1/audit/subject-access"
OFFICER = ("audit:read",)
PIETER_MISSPELT = {**PIETER, "family_name": "de Vreis"}
RIEC_OIN = "99999999000000005000"  # the demo registry's made-up OIN


def _exchange(app: Flask, http: FlaskClient, identifiers: dict[str, str]) -> str:
    body = exchange_body(subjects=[{"ref": "p1", "role": "slachtoffer",
                                    "identifiers": identifiers}])
    response = http.post("/v1/exchanges", json=body, headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json
    exchange_id: str = response.json["id"]
    return exchange_id


def _append(app: Flask, *events: dict[str, Any]) -> list[str]:
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        return [container.audit.append(session, event) for event in events]


def _pseudonym(app: Flask, identifiers: dict[str, str]) -> str:
    pseudonym = app.extensions["ketenpoort"].vault.audit_pseudonym_for(identifiers)
    assert pseudonym is not None
    return str(pseudonym)


def _event_id_of_exchange(session: Session, exchange_id: str) -> str:
    rows = session.execute(select(AuditEntry.event_id, AuditEntry.entry)).all()
    [event_id] = [e for e, text in rows if json.loads(text).get("exchange_id") == exchange_id
                  and json.loads(text)["action"].startswith("exchange.")]
    return str(event_id)


def _report(app: Flask, http: FlaskClient, identifiers: dict[str, str]) -> dict[str, Any]:
    response = http.post(SAR, json={"identifiers": identifiers}, headers=bearer(app, RIEC, OFFICER))
    assert response.status_code == 200, response.json
    report: dict[str, Any] = response.json
    return report


@pytest.mark.parametrize(
    ("scopes", "status"),
    [(None, 401), (("inbox:read",), 403), (("audit:own",), 403), (OFFICER, 200)],
    ids=["no-token", "inbox-only", "partner-audit-own", "privacy-officer"],
)
def test_only_the_privacy_officer_may_ask(
    gateway_app: Flask, http: FlaskClient, scopes: tuple[str, ...] | None, status: int
) -> None:
    headers = {} if scopes is None else bearer(gateway_app, RIEC, scopes)
    response = http.post(SAR, json={"identifiers": EVA}, headers=headers)
    assert response.status_code == status, response.json


def test_the_report_holds_exactly_the_persons_entries(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    eva, pieter = _pseudonym(gateway_app, EVA), _pseudonym(gateway_app, PIETER)
    eva_exchange = _exchange(gateway_app, http, EVA)
    _exchange(gateway_app, http, PIETER)
    read_eva, _read_pieter, reidentified_eva = _append(
        gateway_app,
        {"action": "inbox.read", "actor": {"partner": RIEC, "client": "c"},
         "identities_disclosed": [pieter, eva]},
        {"action": "inbox.read", "actor": {"partner": POLITIE, "client": "c"},
         "identities_disclosed": [pieter]},
        {"action": "reidentification.granted", "actor": {"partner": RIEC, "client": "c"},
         "subject": eva},
    )
    expected = [_event_id_of_exchange(session, eva_exchange), read_eva, reidentified_eva]

    report = _report(gateway_app, http, EVA)

    assert [e["event_id"] for e in report["entries"]] == expected
    assert report["audit_pseudonym"] == eva
    assert report["entry_count"] == 3
    [delivered] = [e for e in report["entries"] if e["action"] == "exchange.delivered"]
    assert delivered["roles"] == ["slachtoffer"]
    assert delivered["covenant"] == "riec-rr-mensenhandel"
    assert delivered["covenant_version"] == "2026.1"
    assert (delivered["purpose"], delivered["process_step"]) == (
        "ketenaanpak-mensenhandel", "detectie")
    assert delivered["categories"] == [{
        "id": "uitbuitingssignalen",
        "title": "Signalen van mensenhandel (Signalenlijst mensenhandel)",
        "legal_basis": "AVG art. 6 lid 1 sub e; WGS",
    }]
    [riec] = delivered["recipients"]
    assert riec["partner"] == RIEC
    assert riec["oin"] == RIEC_OIN
    assert delivered["actor"]["oin"] == "99999999000000001000"  # Vlaardingen's
    assert riec["decision"] == "allowed"
    assert riec["categories_delivered"] == ["uitbuitingssignalen"]


def test_the_report_lists_the_categories_about_the_person_not_about_others_in_the_exchange(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """A victim's report must not show what was sent about the suspect beside them."""
    body = exchange_body(
        subjects=[{"ref": "p1", "role": "slachtoffer", "identifiers": EVA},
                  {"ref": "p2", "role": "dader", "identifiers": PIETER}],
        items=[item("uitbuitingssignalen", "p1"), item("huisvesting", "p2")],
    )
    sent = http.post("/v1/exchanges", json=body, headers=bearer(gateway_app, VLAARDINGEN))
    assert sent.status_code == 201, sent.json

    [eva_entry] = _report(gateway_app, http, EVA)["entries"]
    [pieter_entry] = _report(gateway_app, http, PIETER)["entries"]

    assert [c["id"] for c in eva_entry["categories"]] == ["uitbuitingssignalen"]
    assert [c["id"] for c in pieter_entry["categories"]] == ["huisvesting"]
    assert eva_entry["roles"] == ["slachtoffer"]


def test_the_request_is_audited_with_pseudonyms_only(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _exchange(gateway_app, http, EVA)
    report = _report(gateway_app, http, EVA)
    [text] = [row for row in session.scalars(select(AuditEntry.entry).order_by(AuditEntry.id))
              if json.loads(row)["action"] == "audit.subject_access"]
    entry = json.loads(text)
    assert entry["audit_pseudonym"] == _pseudonym(gateway_app, EVA)
    assert entry["event_ids"] == [e["event_id"] for e in report["entries"]]
    assert entry["actor"]["partner"] == RIEC
    for value in EVA.values():
        assert value not in text
    # A later request lists the earlier one: the person may learn who looked them up.
    again = _report(gateway_app, http, EVA)
    assert again["entries"][-1]["action"] == "audit.subject_access"


def test_a_confirmed_link_brings_in_the_linked_subjects_entries(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _exchange(gateway_app, http, PIETER)
    misspelt_exchange = _exchange(gateway_app, http, PIETER_MISSPELT)
    reviewer = bearer(gateway_app, RIEC, ("linkage:read", "linkage:write"))
    [candidate] = http.get("/v1/linkage/candidates", headers=reviewer).json["items"]
    assert _event_id_of_exchange(session, misspelt_exchange) not in {
        e["event_id"] for e in _report(gateway_app, http, PIETER)["entries"]}

    for confirming in (reviewer, bearer(gateway_app, RIEC, ("linkage:write",))):
        decided = http.post(f"/v1/linkage/candidates/{candidate['id']}/decision",
                            json={"decision": "confirmed"}, headers=confirming)
    assert decided.status_code == 200, decided.json

    report = _report(gateway_app, http, PIETER)
    assert report["linked_pseudonyms"] == [_pseudonym(gateway_app, PIETER_MISSPELT)]
    assert _event_id_of_exchange(session, misspelt_exchange) in {
        e["event_id"] for e in report["entries"]}


def test_the_html_report_is_printable_and_escaped(
    gateway_app: Flask, http: FlaskClient
) -> None:
    eva = _pseudonym(gateway_app, EVA)
    _exchange(gateway_app, http, EVA)
    _append(gateway_app, {"action": "case.note", "actor": {"partner": RIEC, "client": "c"},
                          "purpose": "<script>alert(1)</script>", "subject": eva})
    headers = bearer(gateway_app, RIEC, OFFICER)
    by_accept = http.post(SAR, json={"identifiers": EVA},
                          headers={**headers, "Accept": "text/html"})
    by_query = http.post(f"{SAR}?format=html", json={"identifiers": EVA}, headers=headers)
    for response in (by_accept, by_query):
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "@media print" in page
        assert eva in page
        assert "<script>" not in page
        assert "&lt;script&gt;" in page
        assert "http://" not in page
        assert "https://" not in page
        assert response.headers["Cache-Control"] == "no-store"
        assert "uitbuitingssignalen (AVG art. 6 lid 1 sub e; WGS)" in page
        assert f'{RIEC} (OIN {RIEC_OIN}): <span class="allowed">toegestaan</span>' in page


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        ({"identifiers": {"bsn": "123456789"}}, ["/identifiers/bsn"]),
        ({"identifiers": {"given_names": "Eva"}}, ["/identifiers"]),
        ({"identifiers": {"bsn": "111222333", "shoe_size": "42"}},
         ["/identifiers/shoe_size"]),
        ({"identifiers": "111222333"}, ["/identifiers"]),
        ({}, ["/identifiers"]),
        ({"identifiers": EVA, "note": "x"}, ["/note"]),
    ],
    ids=["bad-bsn", "names-nobody", "unknown-field", "not-an-object", "missing", "extra"],
)
def test_bad_identifiers_are_refused_with_pointers_and_nothing_is_audited(
    gateway_app: Flask, http: FlaskClient, session: Session,
    body: dict[str, Any], pointers: list[str],
) -> None:
    headers = bearer(gateway_app, RIEC, OFFICER)
    before = session.scalars(select(AuditEntry.id)).all()
    response = http.post(SAR, json=body, headers=headers)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == pointers
    assert "123456789" not in response.get_data(as_text=True)
    assert session.scalars(select(AuditEntry.id)).all() == before


def test_an_unknown_format_is_refused(gateway_app: Flask, http: FlaskClient) -> None:
    response = http.post(f"{SAR}?format=xml", json={"identifiers": EVA},
                         headers=bearer(gateway_app, RIEC, OFFICER))
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/format"
