"""GET /v1/linkage/candidates and POST .../decision: only the RIEC reviews; nothing self-merges."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.linkage.encoding import DEFAULT_THRESHOLD
from gateway.linkage.models import LinkageCandidate, LinkageRecord
from gateway.linkage.services import ShredAndForget
from tests.factories import EVA, PIETER, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body

READ = ("linkage:read",)
WRITE = ("linkage:write",)
PIETER_MISSPELT = {**PIETER, "family_name": "de Vreis"}
PIETER_AGAIN = {**PIETER, "family_name": "d. Vriess"}
STRANGER = {"family_name": "Bakker", "given_names": "Sanne", "birth_date": "1975-01-30"}


def _send(app: Flask, http: FlaskClient, identifiers: dict[str, str]) -> str:
    """Send a signal about a person to the RIEC; the pseudonym the RIEC sees for them."""
    body = exchange_body(subjects=[{"ref": "p1", "role": "slachtoffer",
                                    "identifiers": identifiers}])
    response = http.post("/v1/exchanges", json=body, headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json
    inbox = http.get("/v1/inbox?status=pending", headers=bearer(app, RIEC, ("inbox:read",)))
    [delivery] = inbox.json["items"]
    http.post(f"/v1/inbox/{delivery['id']}/ack", headers=bearer(app, RIEC, ("inbox:read",)))
    pseudonym: str = delivery["subjects"][0]["pseudonym"]
    return pseudonym


def _candidates(app: Flask, http: FlaskClient) -> list[dict[str, Any]]:
    response = http.get("/v1/linkage/candidates", headers=bearer(app, RIEC, READ))
    assert response.status_code == 200, response.json
    items: list[dict[str, Any]] = response.json["items"]
    return items


def _decide(app: Flask, http: FlaskClient, candidate_id: str, decision: object) -> Any:
    return http.post(f"/v1/linkage/candidates/{candidate_id}/decision",
                     json={"decision": decision}, headers=bearer(app, RIEC, WRITE))


def _confirm(app: Flask, http: FlaskClient, candidate_id: str) -> Any:
    """Two reviewers of the RIEC confirm (each ``bearer`` call is a fresh client)."""
    first = _decide(app, http, candidate_id, "confirmed")
    assert first.status_code == 202, first.json
    assert first.json["awaiting_second_confirmation"] is True
    return _decide(app, http, candidate_id, "confirmed")


def _linked_pieter(app: Flask, http: FlaskClient) -> tuple[str, str, str]:
    """Pieter and a misspelt Pieter, linked by two reviewers: their two first pseudonyms at
    the RIEC and the confirmed candidate's id."""
    first = _send(app, http, PIETER)
    second = _send(app, http, PIETER_MISSPELT)
    [candidate] = _candidates(app, http)
    _confirm(app, http, candidate["id"])
    return first, second, candidate["id"]


def _audit(session: Session, action: str) -> list[dict[str, Any]]:
    entries = [json.loads(e.entry) for e in session.scalars(select(AuditEntry))]
    return [e for e in entries if e["action"] == action]


def _candidate_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LinkageCandidate)) or 0


@pytest.mark.parametrize(("partner", "scopes", "status"), [
    (None, (), 401),
    (RIEC, ("inbox:read",), 403),
    (POLITIE, READ, 403),
    (VLAARDINGEN, READ, 403),
    (RIEC, READ, 200),
])
def test_only_the_riec_with_linkage_read_lists_candidates(
    gateway_app: Flask, http: FlaskClient, partner: str | None, scopes: tuple[str, ...],
    status: int,
) -> None:
    headers = bearer(gateway_app, partner, scopes) if partner else {}

    response = http.get("/v1/linkage/candidates", headers=headers)

    assert response.status_code == status


@pytest.mark.parametrize(("partner", "scopes", "status"), [
    (None, (), 401),
    (RIEC, READ, 403),
    (POLITIE, WRITE, 403),
    (RIEC, WRITE, 200),
])
def test_only_the_riec_with_linkage_write_decides(
    gateway_app: Flask, http: FlaskClient, session: Session, partner: str | None,
    scopes: tuple[str, ...], status: int,
) -> None:
    _send(gateway_app, http, PIETER)
    _send(gateway_app, http, PIETER_MISSPELT)
    [candidate] = _candidates(gateway_app, http)
    headers = bearer(gateway_app, partner, scopes) if partner else {}

    response = http.post(f"/v1/linkage/candidates/{candidate['id']}/decision",
                         json={"decision": "rejected"}, headers=headers)

    assert response.status_code == status
    stored = session.get(LinkageCandidate, candidate["id"])
    assert stored is not None
    assert stored.status == ("rejected" if status == 200 else "pending")


def test_a_misspelt_person_is_a_candidate_under_the_riecs_own_pseudonyms(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    first = _send(gateway_app, http, PIETER)
    second = _send(gateway_app, http, PIETER_MISSPELT)

    [candidate] = _candidates(gateway_app, http)

    assert first != second
    assert sorted(candidate["pseudonyms"]) == sorted([first, second])
    assert candidate["score"] >= DEFAULT_THRESHOLD
    assert candidate["status"] == "pending"
    # Whether one swapped letter still counts as agreement depends on the keyed hash of the
    # run's linkage key; it never counts as disagreement.
    features = candidate["features"]
    assert features.pop("family") in ("partly", "agreed")
    assert features == {
        "given": "agreed", "day-month": "agreed", "year": "agreed",
        "address": "missing", "document": "missing", "nationality": "missing"}
    assert "Vrie" not in json.dumps(candidate)
    [listed] = _audit(session, "linkage.candidates.listed")
    assert listed["candidate_ids"] == [candidate["id"]]
    assert listed["actor"]["partner"] == RIEC


def test_different_people_are_no_candidates(gateway_app: Flask, http: FlaskClient) -> None:
    _send(gateway_app, http, PIETER)
    _send(gateway_app, http, STRANGER)

    assert _candidates(gateway_app, http) == []


def test_confirming_makes_one_subject_so_the_pseudonym_follows(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    first = _send(gateway_app, http, PIETER)
    second = _send(gateway_app, http, PIETER_MISSPELT)
    [candidate] = _candidates(gateway_app, http)

    response = _confirm(gateway_app, http, candidate["id"])

    assert response.status_code == 200, response.json
    assert response.json["status"] == "confirmed"
    assert response.json["pseudonyms"] == [first, first]
    assert first != second
    assert _send(gateway_app, http, PIETER_MISSPELT) == first
    assert _send(gateway_app, http, PIETER) == first
    assert _candidates(gateway_app, http) == []
    [confirmed] = _audit(session, "linkage.confirmed")
    assert confirmed["candidate_id"] == candidate["id"]
    assert all(s.startswith("AUD") for s in confirmed["subjects"])


def test_a_link_to_an_already_linked_person_joins_the_same_subject(
    gateway_app: Flask, http: FlaskClient
) -> None:
    first, _second, _candidate = _linked_pieter(gateway_app, http)
    _send(gateway_app, http, PIETER_AGAIN)

    for pending in _candidates(gateway_app, http):
        assert _confirm(gateway_app, http, pending["id"]).status_code == 200

    assert _send(gateway_app, http, PIETER_AGAIN) == first
    assert _send(gateway_app, http, PIETER_MISSPELT) == first


def test_a_rejected_candidate_is_remembered(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    first = _send(gateway_app, http, PIETER)
    second = _send(gateway_app, http, PIETER_MISSPELT)
    [candidate] = _candidates(gateway_app, http)

    assert _decide(gateway_app, http, candidate["id"], "rejected").status_code == 200

    assert _send(gateway_app, http, PIETER_MISSPELT) == second
    assert _send(gateway_app, http, PIETER) == first
    assert _candidates(gateway_app, http) == []
    assert _candidate_count(session) == 1
    assert _decide(gateway_app, http, candidate["id"], "confirmed").status_code == 409
    [rejected] = _audit(session, "linkage.rejected")
    assert rejected["candidate_id"] == candidate["id"]


def test_an_exact_bsn_match_links_directly_without_review(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    first = _send(gateway_app, http, EVA)
    second = _send(gateway_app, http, {**EVA, "family_name": "Janssen-Bakker",
                                       "birth_date": "1999-02-04"})

    assert first == second
    assert _candidates(gateway_app, http) == []
    assert _candidate_count(session) == 0


@pytest.mark.parametrize(("body", "pointer"), [
    ({"decision": "maybe"}, "/decision"),
    ({}, "/decision"),
    ({"decision": "confirmed", "merge": True}, "/merge"),
    ({"decision": ["confirmed"]}, "/decision"),
])
def test_a_bad_decision_names_its_field_and_changes_nothing(
    gateway_app: Flask, http: FlaskClient, session: Session, body: dict[str, Any], pointer: str
) -> None:
    _send(gateway_app, http, PIETER)
    _send(gateway_app, http, PIETER_MISSPELT)
    [candidate] = _candidates(gateway_app, http)

    response = http.post(f"/v1/linkage/candidates/{candidate['id']}/decision", json=body,
                         headers=bearer(gateway_app, RIEC, WRITE))

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert _candidates(gateway_app, http)[0]["status"] == "pending"
    assert _audit(session, "linkage.confirmed") == []


def test_a_decision_must_be_json(gateway_app: Flask, http: FlaskClient) -> None:
    response = http.post("/v1/linkage/candidates/whatever/decision", data="confirmed",
                         headers=bearer(gateway_app, RIEC, WRITE))

    assert response.status_code == 415


def test_an_unknown_candidate_is_not_found(gateway_app: Flask, http: FlaskClient) -> None:
    response = _decide(gateway_app, http, "00000000-0000-0000-0000-000000000000", "confirmed")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("limit", ["0", "201", "ten", "-1"])
def test_a_bad_limit_names_its_field(gateway_app: Flask, http: FlaskClient, limit: str) -> None:
    response = http.get(f"/v1/linkage/candidates?limit={limit}",
                        headers=bearer(gateway_app, RIEC, READ))

    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/limit"


def test_a_forgotten_subject_is_compared_no_more(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    container = gateway_app.extensions["ketenpoort"]
    _send(gateway_app, http, PIETER)
    subject_id = container.vault.register(session, PIETER)

    container.linkage.forget(session, subject_id)
    _send(gateway_app, http, PIETER_MISSPELT)

    assert _candidates(gateway_app, http) == []


def test_shredding_an_identity_also_forgets_its_encoding(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    container = gateway_app.extensions["ketenpoort"]
    _send(gateway_app, http, PIETER)
    subject_id = container.vault.register(session, PIETER)
    assert session.scalar(select(func.count()).select_from(LinkageRecord)
                          .where(LinkageRecord.subject_id == subject_id)) == 1

    ShredAndForget(container.vault).shred(session, subject_id)

    assert session.scalar(select(func.count()).select_from(LinkageRecord)
                          .where(LinkageRecord.subject_id == subject_id)) == 0
    _send(gateway_app, http, PIETER_MISSPELT)
    assert _candidates(gateway_app, http) == []


def test_unlinking_gives_each_person_their_own_pseudonym_again(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    first, second, candidate_id = _linked_pieter(gateway_app, http)
    assert _send(gateway_app, http, PIETER_MISSPELT) == first

    response = http.post(f"/v1/linkage/candidates/{candidate_id}/unlink",
                         headers=bearer(gateway_app, RIEC, WRITE))

    assert response.status_code == 200, response.json
    assert response.json["status"] == "rejected"
    assert _send(gateway_app, http, PIETER_MISSPELT) == second
    assert _send(gateway_app, http, PIETER) == first
    [unlinked] = _audit(session, "linkage.unlinked")
    assert unlinked["candidate_id"] == candidate_id
    again = http.post(f"/v1/linkage/candidates/{candidate_id}/unlink",
                      headers=bearer(gateway_app, RIEC, WRITE))
    assert again.status_code == 409


def test_unlinking_one_link_keeps_the_others_of_the_group(
    gateway_app: Flask, http: FlaskClient
) -> None:
    first, _second, candidate_id = _linked_pieter(gateway_app, http)
    third = _send(gateway_app, http, PIETER_AGAIN)
    pending = _candidates(gateway_app, http)
    for other in pending:
        _confirm(gateway_app, http, other["id"])
    assert _send(gateway_app, http, PIETER_AGAIN) == first

    http.post(f"/v1/linkage/candidates/{candidate_id}/unlink",
              headers=bearer(gateway_app, RIEC, WRITE))

    # The third spelling was linked to both others, so the three stay one person through it.
    assert len(pending) == 2
    assert third != first
    assert _send(gateway_app, http, PIETER_AGAIN) == first
    assert _send(gateway_app, http, PIETER_MISSPELT) == first


def test_only_a_linkage_writer_of_the_regie_unlinks(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _first, _second, candidate_id = _linked_pieter(gateway_app, http)
    path = f"/v1/linkage/candidates/{candidate_id}/unlink"

    assert http.post(path).status_code == 401
    assert http.post(path, headers=bearer(gateway_app, RIEC, READ)).status_code == 403
    assert http.post(path, headers=bearer(gateway_app, POLITIE, WRITE)).status_code == 403


def test_a_rejection_needs_one_reviewer_and_clears_a_first_confirmation(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _send(gateway_app, http, PIETER)
    _send(gateway_app, http, PIETER_MISSPELT)
    [candidate] = _candidates(gateway_app, http)
    assert _decide(gateway_app, http, candidate["id"], "confirmed").status_code == 202

    assert _decide(gateway_app, http, candidate["id"], "rejected").status_code == 200
    assert _decide(gateway_app, http, candidate["id"], "confirmed").status_code == 409
    [pending] = _audit(session, "linkage.confirmation_pending")
    [rejected] = _audit(session, "linkage.rejected")
    assert rejected["first_reviewer"] == pending["actor"]
