"""Attacks on the subject-rights workflows (rectification, restriction, objection).

* A curious partner's officer invokes a right to learn whether the gateway knows a person:
  the answers for a person another partner sent and for a stranger are indistinguishable.
* A stolen officer client tries to lift a restriction: alone it only asks (the person stays
  withheld); another partner's client cannot even see the restriction.
* A partner uses rectification to overwrite what another partner sent: nothing of the other
  partner's copies, of the vault's record or of its recipients' inboxes changes.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from gateway.db import transaction
from tests.cases.factories import token
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN, bearer
from tests.rights.factories import EVA_BY_NAME, OFFICER, inbox, notices, person, send

STRANGER = {"bsn": "123456782"}
VOLATILE = {"id", "created_at"}


def _stable(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in VOLATILE}


def test_invoking_a_right_does_not_tell_whether_the_gateway_knows_the_person(
    gateway_app: Flask, http: FlaskClient
) -> None:
    assert send(gateway_app, http, [person("p1", EVA)], step="dossiervorming").status_code == 201
    curious = token(gateway_app, POLITIE, OFFICER)
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/v1/rights/rectifications", {"corrections": {"family_name": "Proef"}}),
        ("/v1/rights/restrictions", {}),
        ("/v1/rights/objections", {"covenant": "riec-rr-mensenhandel", "grounds": "proef"}),
    ]
    for path, extra in requests:
        known = http.post(path, json={"identifiers": EVA, **extra}, headers=curious)
        unknown = http.post(path, json={"identifiers": STRANGER, **extra}, headers=curious)
        assert (known.status_code, _stable(known.json)) == (
            unknown.status_code, _stable(unknown.json)), path


def test_a_stolen_officer_client_cannot_lift_a_restriction_alone(
    gateway_app: Flask, http: FlaskClient
) -> None:
    officer = bearer(gateway_app, VLAARDINGEN, OFFICER)
    restriction = http.post("/v1/rights/restrictions", json={"identifiers": EVA},
                            headers=officer).json
    lift = f"/v1/rights/restrictions/{restriction['id']}/lift"
    stolen = bearer(gateway_app, VLAARDINGEN, OFFICER)

    assert http.post(lift, headers=stolen).status_code == 202
    assert http.post(lift, headers=stolen).status_code == 409
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 403

    other_partner = bearer(gateway_app, POLITIE, OFFICER)
    foreign = http.post(lift, headers=other_partner)
    missing = http.post("/v1/rights/restrictions/00000000-0000-4000-8000-000000000000/lift",
                        headers=other_partner)
    assert foreign.status_code == missing.status_code == 404
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 403


def test_rectification_cannot_overwrite_what_another_partner_sent(
    gateway_app: Flask, http: FlaskClient
) -> None:
    assert send(gateway_app, http, [person("p1", EVA)], step="dossiervorming").status_code == 201

    response = http.post("/v1/rights/rectifications",
                         json={"identifiers": EVA, "corrections": {"family_name": "Overschreven",
                                                                   "address": "Elders 1"}},
                         headers=token(gateway_app, POLITIE, OFFICER))

    assert response.status_code == 201, response.json
    assert (response.json["corrected_deliveries"], response.json["notified"]) == (0, [])
    [delivered] = inbox(gateway_app, http)
    assert delivered["subjects"][0]["identifiers"]["family_name"] == EVA["family_name"]
    assert notices(gateway_app, http, RIEC) == []
    container = gateway_app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        stored = container.vault.reveal(session, container.vault.subject_id_for(EVA))
    assert stored == EVA


def test_rectification_is_no_oracle_for_a_bsn_only_another_partner_sent(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """Vlaardingen sent Eva by name and birth date only; the police sent her with her BSN.
    Vlaardingen's officer "rectifies" a guessed BSN: whether its own name-only copy is touched
    must not depend on the BSN the police sent, or each guess tells whether it is Eva's."""
    assert send(gateway_app, http, [person("p1", EVA_BY_NAME)]).status_code == 201
    assert send(gateway_app, http, [person("p1", EVA)], sender=POLITIE).status_code == 201
    officer = token(gateway_app, VLAARDINGEN, OFFICER)
    correction = {"corrections": {"family_name": "Proef"}}

    right = http.post("/v1/rights/rectifications",
                      json={"identifiers": {"bsn": EVA["bsn"]}, **correction}, headers=officer)
    wrong = http.post("/v1/rights/rectifications",
                      json={"identifiers": STRANGER, **correction}, headers=officer)

    assert right.status_code == wrong.status_code == 201, right.json
    assert _stable(right.json) == _stable(wrong.json)
    assert right.json["corrected_deliveries"] == 0
    assert notices(gateway_app, http, RIEC) == []


def test_the_contact_point_cannot_reidentify_a_pseudonym_by_objecting_itself(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """The RIEC got Eva pseudonymously (detectie). It is the covenant's contact point and a
    party, so its own officer may file an objection, and the notice for it comes back to the
    RIEC: were the notice to name the person by the RIEC's pseudonym, every guess of
    identifiers would be a re-identification past the four-eyes workflow, its limits and log."""
    assert send(gateway_app, http, [person("p1", EVA)]).status_code == 201
    [delivered] = inbox(gateway_app, http)
    held = delivered["subjects"][0]["pseudonym"]
    assert "identifiers" not in delivered["subjects"][0]
    curious = token(gateway_app, RIEC, OFFICER)

    for guess in (STRANGER, {"bsn": EVA["bsn"]}, EVA):
        response = http.post("/v1/rights/objections", json={
            "identifiers": guess, "covenant": "riec-rr-mensenhandel", "grounds": "proef"},
            headers=curious)
        assert response.status_code == 201, response.json

    told = notices(gateway_app, http, RIEC)
    assert len(told) == 3
    assert held not in json.dumps(told)


def test_a_restriction_is_no_oracle_for_a_bsn_only_another_partner_sent(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """The police sent Eva with her BSN. Vlaardingen knows her by name and birth date only;
    its officer restricts a guessed BSN and then sends her by name: whether she is withheld
    must not depend on whether the guess is the BSN the police sent."""
    assert send(gateway_app, http, [person("p1", EVA)], sender=POLITIE).status_code == 201
    officer = token(gateway_app, VLAARDINGEN, OFFICER)
    by_name = [person("p1", EVA_BY_NAME), person("p2", {**EVA_BY_NAME, "given_names": "Ada"})]
    outcomes = []
    for guess in ({"bsn": "123456782"}, {"bsn": EVA["bsn"]}):
        restricted = http.post("/v1/rights/restrictions", json={"identifiers": guess},
                               headers=officer)
        assert restricted.status_code == 201, restricted.json
        sent = send(gateway_app, http, by_name)
        outcomes.append((sent.status_code, "subject-restricted" in json.dumps(sent.json)))
    assert outcomes == [(201, False), (201, False)]
    # The restriction still holds for every other sender, under every key of the person.
    other = send(gateway_app, http, [person("p1", EVA_BY_NAME)], sender=POLITIE)
    assert other.status_code == 403
    assert "subject-restricted" in json.dumps(other.json)


def test_a_hostile_restriction_id_is_a_404_on_every_database(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """A NUL byte reached PostgreSQL (which refuses it: a 500); ids are never sent unless ours."""
    officer = token(gateway_app, VLAARDINGEN, OFFICER)
    for hostile in ("%00", "a%00b", "%C0%80", "%FF", "0" * 37,
                    "00000000-0000-4000-8000-00000000000%00"):
        response = http.post(f"/v1/rights/restrictions/{hostile}/lift", headers=officer)
        assert response.status_code == 404, hostile
        assert response.mimetype == "application/problem+json"
