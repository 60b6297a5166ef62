"""A rectification must not hide a person from their own subject access request.

Eva was sent with her BSN and the name "Jansen"; a rectification corrected it to "Janssen".
She (or a letter she was sent earlier) still knows the old name: a request by the old name and
her birth date found nothing, because the vault record now carried only the new name. The
replaced subject key is kept as an alias, sealed under her data key; it leads to her record
alone, and a request that differs from the old name in anything else still finds nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.identity.models import SubjectAlias
from tests.cases.factories import token
from tests.factories import EVA, RIEC, VLAARDINGEN
from tests.rights.factories import OFFICER, person, send

SAR = "/v1/audit/subject-access"
OLD_NAME = {k: v for k, v in EVA.items() if k != "bsn"}
NEW_NAME = {**OLD_NAME, "family_name": "Janssen"}


def _exchange_ids(app: Flask, http: FlaskClient, identifiers: dict[str, str]) -> list[str]:
    response = http.post(SAR, json={"identifiers": identifiers},
                         headers=token(app, RIEC, ("audit:read",)))
    assert response.status_code == 200, response.json
    entries: list[dict[str, Any]] = response.json["entries"]
    return [e["event_id"] for e in entries if e["action"].startswith("exchange.")]


def _rectify(app: Flask, http: FlaskClient) -> None:
    response = http.post("/v1/rights/rectifications",
                         json={"identifiers": EVA, "corrections": {"family_name": "Janssen"}},
                         headers=token(app, VLAARDINGEN, OFFICER))
    assert response.status_code == 201, response.json


def test_the_old_name_still_finds_the_persons_entries_after_a_rectification(
    gateway_app: Flask, http: FlaskClient
) -> None:
    sent = send(gateway_app, http, [person("p1", EVA)])
    assert sent.status_code == 201, sent.json
    before = _exchange_ids(gateway_app, http, OLD_NAME)
    assert len(before) == 1

    _rectify(gateway_app, http)

    assert _exchange_ids(gateway_app, http, OLD_NAME) == before
    assert _exchange_ids(gateway_app, http, NEW_NAME) == before
    assert _exchange_ids(gateway_app, http, {"bsn": EVA["bsn"]}) == before


@pytest.mark.parametrize("other", [
    {**OLD_NAME, "birth_date": "1999-04-03"},
    {**OLD_NAME, "given_names": "Eline"},
    {**OLD_NAME, "family_name": "Jansma"},
], ids=["birth-date", "given-names", "family-name"])
def test_a_request_that_is_not_the_old_name_finds_nothing(
    gateway_app: Flask, http: FlaskClient, other: dict[str, str]
) -> None:
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 201
    _rectify(gateway_app, http)

    assert _exchange_ids(gateway_app, http, other) == []


def test_the_alias_leads_only_to_its_own_record(gateway_app: Flask, http: FlaskClient) -> None:
    """Someone else sent later under the old name (no BSN) is not pulled into a request by
    the BSN or the new name: the alias says who answers to the old name, not the reverse."""
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 201
    _rectify(gateway_app, http)
    namesake = send(gateway_app, http, [person("p1", OLD_NAME)])
    assert namesake.status_code == 201, namesake.json

    by_bsn = _exchange_ids(gateway_app, http, {"bsn": EVA["bsn"]})

    assert len(by_bsn) == 1
    assert _exchange_ids(gateway_app, http, NEW_NAME) == by_bsn
    assert len(_exchange_ids(gateway_app, http, OLD_NAME)) == 2  # the old name is both


def test_the_alias_is_sealed_and_goes_with_the_shredded_person(
    gateway_app: Flask, http: FlaskClient
) -> None:
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 201
    _rectify(gateway_app, http)
    container = gateway_app.extensions["ketenpoort"]
    subject_id = container.vault.subject_id_for(EVA)
    with transaction(container.session_factory) as session:
        [alias] = session.scalars(select(SubjectAlias)).all()
        assert alias.subject_id == subject_id
        assert b"jansen" not in alias.ciphertext.lower()
        container.vault.shred(session, subject_id)
    with transaction(container.session_factory) as session:
        assert session.scalars(select(SubjectAlias)).all() == []

    assert _exchange_ids(gateway_app, http, OLD_NAME) == []
