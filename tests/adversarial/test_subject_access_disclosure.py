"""Attacks on what a subject access report discloses about persons other than its subject.

An exchange about a victim and a suspect is one audit entry naming both. The report handed to
the victim (JSON, HTML, PDF) carried that entry whole: the suspect's audit pseudonym, role and
categories (AVG art. 15(4): the rights of others), and two people comparing their reports
found each other's pseudonyms in them. The report now shows what is about its subject, other
persons as a count, and each entry's leaf hash and proof, which the server verified; the whole
entries are the privacy officer's, through a verification copy asked for (and audited) apart.
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from audit.interfaces import InclusionProof
from audit.verify import verify_subject_access
from tests.cases.factories import token
from tests.factories import EVA, PIETER, RIEC, VLAARDINGEN, exchange_body, item

SAR = "/v1/audit/subject-access"
OFFICER = ("audit:read",)


def _victim_and_suspect(app: Flask, http: FlaskClient) -> None:
    """One exchange about Eva (victim, signals) and Pieter (suspect, housing), checkpointed."""
    body = exchange_body(
        subjects=[{"ref": "p1", "role": "slachtoffer", "identifiers": EVA},
                  {"ref": "p2", "role": "dader", "identifiers": PIETER}],
        items=[item("uitbuitingssignalen", "p1"), item("huisvesting", "p2")])
    sent = http.post("/v1/exchanges", json=body,
                     headers=token(app, VLAARDINGEN, ("exchange:write",)))
    assert sent.status_code == 201, sent.json
    app.extensions["ketenpoort"].sequencer_once().run_once()


def _ask(app: Flask, http: FlaskClient, identifiers: dict[str, str], query: str = "") -> Any:
    return http.post(SAR + query, json={"identifiers": identifiers},
                     headers=token(app, RIEC, OFFICER))


def _report(app: Flask, http: FlaskClient, identifiers: dict[str, str],
            query: str = "") -> dict[str, Any]:
    response = _ask(app, http, identifiers, query)
    assert response.status_code == 200, response.json
    report: dict[str, Any] = response.json
    return report


def _audit_pseudonym(app: Flask, identifiers: dict[str, str]) -> str:
    return str(app.extensions["ketenpoort"].vault.audit_pseudonym_for(identifiers))


def _pdf_text_and_json(data: bytes) -> tuple[str, str]:
    pdf = PdfReader(io.BytesIO(data))
    [embedded] = pdf.attachments["inzage.json"]
    return "".join(page.extract_text() for page in pdf.pages), embedded.decode("utf-8")


def test_the_victims_report_names_nothing_of_the_suspect_in_the_same_exchange(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _victim_and_suspect(gateway_app, http)
    suspect = _audit_pseudonym(gateway_app, PIETER)

    as_json = json.dumps(_report(gateway_app, http, EVA))
    as_html = _ask(gateway_app, http, EVA, "?format=html").get_data(as_text=True)
    pdf_text, pdf_json = _pdf_text_and_json(_ask(gateway_app, http, EVA, "?format=pdf").data)

    for shown in (as_json, as_html, pdf_text, pdf_json):
        assert suspect not in shown
        assert "dader" not in shown
        assert "huisvesting" not in shown
    [exchange] = [e for e in json.loads(as_json)["entries"]
                  if e["action"] == "exchange.delivered"]
    assert exchange["other_persons"] == 1
    assert exchange["roles"] == ["slachtoffer"]
    assert "entry" not in exchange
    assert "Andere personen (niet genoemd): 1" in as_html


def test_two_persons_comparing_their_reports_find_no_pseudonym_of_the_other(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _victim_and_suspect(gateway_app, http)
    eva, pieter = _audit_pseudonym(gateway_app, EVA), _audit_pseudonym(gateway_app, PIETER)

    evas, pieters = (json.dumps(_report(gateway_app, http, who)) for who in (EVA, PIETER))

    assert eva in evas
    assert pieter not in evas
    assert pieter in pieters
    assert eva not in pieters


def test_a_restriction_of_another_person_in_the_exchange_stays_out_of_the_report(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """Another person's request to restrict (AVG art. 18) is theirs, and so is its reason."""
    restricted = http.post("/v1/rights/restrictions", json={"identifiers": PIETER},
                           headers=token(gateway_app, VLAARDINGEN, ("rights:write",)))
    assert restricted.status_code == 201, restricted.json
    _victim_and_suspect(gateway_app, http)

    report = json.dumps(_report(gateway_app, http, EVA))

    assert "uitbuitingssignalen" in report
    assert "restricted" not in report


def test_the_report_states_what_the_server_verified_and_against_which_checkpoint(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _victim_and_suspect(gateway_app, http)

    report = _report(gateway_app, http, EVA)

    verification, checkpoint = report["verification"], report["checkpoint"]
    assert (verification["tree_size"], verification["root_hash"], verification["key_id"]) == (
        checkpoint["tree_size"], checkpoint["root_hash"], checkpoint["key_id"])
    assert verification["signature_verified"] is True
    proofs = [e["proof"] for e in report["entries"] if e["proof"] is not None]
    assert proofs
    assert all(proof["verified"] for proof in proofs)
    assert verification["entries_verified"] == len(proofs)
    assert verification["entries_failed"] == 0
    html = _ask(gateway_app, http, EVA, "?format=html").get_data(as_text=True)
    assert f"controlepunt van boomgrootte {checkpoint['tree_size']}" in html
    assert "de handtekening is geldig" in html
    # Offline, the data subject's copy proves its leaves without the entries.
    assert verify_subject_access(report)[0]
    forged = json.loads(json.dumps(report))
    first = forged["entries"][0]["proof"]
    first["leaf_hash"] = ("B" if first["leaf_hash"][0] == "A" else "A") + first["leaf_hash"][1:]
    assert not verify_subject_access(forged)[0]


def test_a_proof_that_does_not_lead_to_the_signed_root_is_reported_unverified(
    gateway_app: Flask, http: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _victim_and_suspect(gateway_app, http)
    _victim_and_suspect(gateway_app, http)  # a second leaf: every proof has a sibling hash
    audit = gateway_app.extensions["ketenpoort"].subject_access.audit
    honest = audit.inclusion_proof

    def damaged(*args: Any) -> InclusionProof:
        proof: InclusionProof = honest(*args)
        return dataclasses.replace(proof, hashes=(bytes(32), *proof.hashes[1:]))

    monkeypatch.setattr(audit, "inclusion_proof", damaged)
    report = _report(gateway_app, http, EVA)

    assert report["verification"]["entries_verified"] == 0
    assert report["verification"]["entries_failed"] == 2
    assert not any(e["proof"]["verified"] for e in report["entries"] if e["proof"])


def test_the_whole_entries_are_the_officers_alone_through_an_audited_verification_copy(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _victim_and_suspect(gateway_app, http)
    suspect = _audit_pseudonym(gateway_app, PIETER)

    copy = _report(gateway_app, http, EVA, "?copy=verification")

    assert copy["copy"] == "verification"
    [exchange] = [e for e in copy["entries"] if e["action"] == "exchange.delivered"]
    assert suspect in json.dumps(exchange["entry"])
    assert verify_subject_access(copy)[0]
    tampered = json.loads(json.dumps(copy))
    [changed] = [e for e in tampered["entries"] if e["action"] == "exchange.delivered"]
    changed["entry"]["recipients"] = ["politie"]
    assert not verify_subject_access(tampered)[0]
    # Asked for apart, and logged as what it is: a read of other persons' data.
    actions = [e["action"] for e in _report(gateway_app, http, EVA)["entries"]]
    assert "audit.subject_access_verification_copy" in actions
    # Never rendered for handing over, and never for a partner's own audit scope.
    for query in ("?copy=verification&format=pdf", "?copy=verification&format=html",
                  "?copy=everything"):
        refused = _ask(gateway_app, http, EVA, query)
        assert refused.status_code == 422, query
        assert [e["pointer"] for e in refused.json["errors"]] == ["/copy"]
    partner = http.post(SAR + "?copy=verification", json={"identifiers": EVA},
                        headers=token(gateway_app, VLAARDINGEN, ("audit:own",)))
    assert partner.status_code == 403
