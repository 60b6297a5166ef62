"""GET /v1/inbox and POST /v1/inbox/{id}/ack: each recipient sees exactly its own view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
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

READ = ("inbox:read",)


def _send(app: Flask, http: FlaskClient, sender: str, **overrides: Any) -> dict[str, Any]:
    response = http.post("/v1/exchanges", json=exchange_body(**overrides),
                         headers=bearer(app, sender))
    assert response.status_code == 201, response.json
    result: dict[str, Any] = response.json
    return result


def _inbox(app: Flask, http: FlaskClient, partner: str, query: str = "") -> dict[str, Any]:
    response = http.get(f"/v1/inbox{query}", headers=bearer(app, partner, READ))
    assert response.status_code == 200, response.json
    result: dict[str, Any] = response.json
    return result


def _subject(delivery: dict[str, Any]) -> dict[str, Any]:
    [subject] = delivery["subjects"]
    return subject


def test_the_recipient_sees_the_signal_under_its_pseudonym_only(
    gateway_app: Flask, http: FlaskClient
) -> None:
    exchange = _send(gateway_app, http, VLAARDINGEN)

    [delivery] = _inbox(gateway_app, http, RIEC)["items"]

    assert delivery["exchange_id"] == exchange["id"]
    assert delivery["sender"] == VLAARDINGEN
    assert delivery["sender_oin"] == "99999999000000001000"  # beside the slug (issue 19)
    assert delivery["identity"] == "pseudonym"
    assert delivery["items"] == exchange_body()["items"]
    subject = _subject(delivery)
    assert set(subject) == {"ref", "kind", "confidence", "role", "pseudonym", "identity"}
    assert subject["identity"] == "pseudonym"
    assert subject["role"] == "slachtoffer"
    assert EVA["bsn"] not in json.dumps(delivery)


def test_an_identified_delivery_carries_the_identifiers(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, VLAARDINGEN, process_step="dossiervorming")

    [delivery] = _inbox(gateway_app, http, RIEC)["items"]

    assert delivery["identity"] == "identified"
    assert _subject(delivery)["identifiers"] == EVA


def test_withheld_categories_never_reach_the_inbox(
    gateway_app: Flask, http: FlaskClient
) -> None:
    # The GGD may send health data to the RIEC, but the politie may not.
    items = [item("uitbuitingssignalen"), item("gezondheid", diagnose="x")]
    result = _send(gateway_app, http, POLITIE, items=items)
    [decision] = result["decisions"]
    assert decision["categories_withheld"] == ["gezondheid"]

    [delivery] = _inbox(gateway_app, http, RIEC)["items"]

    assert [i["category"] for i in delivery["items"]] == ["uitbuitingssignalen"]


def test_subjects_of_withheld_items_are_not_delivered(
    gateway_app: Flask, http: FlaskClient
) -> None:
    subjects = [{"ref": "p1", "role": "slachtoffer", "identifiers": EVA},
                {"ref": "p2", "role": "dader", "identifiers": PIETER}]
    items = [item("uitbuitingssignalen", "p1"), item("gezondheid", "p2")]
    _send(gateway_app, http, POLITIE, subjects=subjects, items=items)

    [delivery] = _inbox(gateway_app, http, RIEC)["items"]

    assert [s["ref"] for s in delivery["subjects"]] == ["p1"]


def test_the_same_person_has_one_pseudonym_per_recipient(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, VLAARDINGEN)
    _send(gateway_app, http, POLITIE)
    onward = _send(gateway_app, http, RIEC, process_step="weging_kwalificatie",
                   recipients=[VLAARDINGEN, POLITIE])
    assert all(d["allowed"] for d in onward["decisions"])

    at_riec = {_subject(d)["pseudonym"] for d in _inbox(gateway_app, http, RIEC)["items"]}
    at_gemeente = _subject(_inbox(gateway_app, http, VLAARDINGEN)["items"][0])["pseudonym"]
    at_politie = _subject(_inbox(gateway_app, http, POLITIE)["items"][0])["pseudonym"]

    assert len(at_riec) == 1
    assert len({*at_riec, at_gemeente, at_politie}) == 3


def test_without_a_bsn_the_normalised_name_and_birth_date_identify_the_person(
    gateway_app: Flask, http: FlaskClient
) -> None:
    variant = {**PIETER, "family_name": "DE  VRIES", "given_names": "pieter"}
    for identifiers in (PIETER, variant):
        _send(gateway_app, http, VLAARDINGEN,
              subjects=[{"ref": "p1", "role": "dader", "identifiers": identifiers}])

    deliveries = _inbox(gateway_app, http, RIEC)["items"]

    assert len({_subject(d)["pseudonym"] for d in deliveries}) == 1


def test_an_inbox_shows_nothing_addressed_to_others(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, VLAARDINGEN)

    assert _inbox(gateway_app, http, VLAARDINGEN)["items"] == []
    assert _inbox(gateway_app, http, POLITIE)["items"] == []


def test_cursor_pagination_walks_every_delivery_once(
    gateway_app: Flask, http: FlaskClient
) -> None:
    sent = [_send(gateway_app, http, VLAARDINGEN)["id"] for _ in range(5)]

    seen, query = [], "?limit=2"
    while True:
        page = _inbox(gateway_app, http, RIEC, query)
        seen += [d["exchange_id"] for d in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"?limit=2&cursor={page['next_cursor']}"

    assert seen == sent


@pytest.mark.parametrize("query", ["?cursor=bm9wZQ", "?cursor=%%%", "?limit=0", "?limit=201",
                                   "?limit=ten", "?status=unread"])
def test_bad_inbox_parameters_are_422(gateway_app: Flask, http: FlaskClient, query: str) -> None:
    response = http.get(f"/v1/inbox{query}", headers=bearer(gateway_app, RIEC, READ))

    assert response.status_code == 422
    assert response.json["errors"]


def test_acknowledging_removes_a_delivery_from_the_pending_view(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, VLAARDINGEN)
    headers = bearer(gateway_app, RIEC, READ)
    [delivery] = _inbox(gateway_app, http, RIEC, "?status=pending")["items"]

    first = http.post(f"/v1/inbox/{delivery['id']}/ack", headers=headers)
    again = http.post(f"/v1/inbox/{delivery['id']}/ack", headers=headers)

    assert first.status_code == again.status_code == 200
    assert first.json == again.json
    assert _inbox(gateway_app, http, RIEC, "?status=pending")["items"] == []
    assert len(_inbox(gateway_app, http, RIEC)["items"]) == 1


def test_nobody_acknowledges_another_partners_delivery(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, VLAARDINGEN)
    [delivery] = _inbox(gateway_app, http, RIEC)["items"]

    response = http.post(f"/v1/inbox/{delivery['id']}/ack",
                         headers=bearer(gateway_app, POLITIE, READ))

    assert response.status_code == 404


def test_reads_and_disclosures_are_audited(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _send(gateway_app, http, VLAARDINGEN, process_step="dossiervorming")
    [delivery] = _inbox(gateway_app, http, RIEC)["items"]

    entries = [json.loads(e.entry) for e in session.scalars(select(AuditEntry))]
    [read] = [e for e in entries if e["action"] == "inbox.read"]
    assert read["delivery_ids"] == [delivery["id"]]
    assert len(read["identities_disclosed"]) == 1
    assert EVA["bsn"] not in json.dumps(entries)


def test_evaluation_feedback_carries_no_persons(gateway_app: Flask, http: FlaskClient) -> None:
    result = _send(gateway_app, http, RIEC, process_step="evaluatie", recipients=[VLAARDINGEN])
    assert result["decisions"][0]["identity"] == "none"

    [delivery] = _inbox(gateway_app, http, VLAARDINGEN)["items"]

    assert delivery["subjects"] == []
    assert delivery["items"][0]["subject_ref"] is None
