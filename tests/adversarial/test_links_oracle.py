"""Attacks that try to learn whether two persons are linked (a confirmed linkage candidate).

The police sent Eva with her BSN; Vlaardingen knows her by name and birth date only, and the
RIEC linked the two subjects (rightly: they are one person). Vlaardingen's officer restricts a
guessed BSN and then sends Eva by name. Were the restriction to follow the link against its own
exchanges, Eva would be withheld exactly when the guess is the BSN linked to her: a partner
would learn a link, and through it the BSN of a person it knows only by name. A restriction
follows links against its partner's own exchanges only from a subject that partner sent itself
(``tests/rights/test_rights.py``: a link confirmed after the restriction).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import token
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN
from tests.linkage.test_linkage_api import _candidates, _confirm
from tests.rights.factories import EVA_BY_NAME, OFFICER, person, send

STRANGER_BSN = {"bsn": "123456782"}


def _eva_linked_across_keys(app: Flask, http: FlaskClient) -> None:
    assert send(app, http, [person("p1", EVA)], sender=POLITIE).status_code == 201
    assert send(app, http, [person("p1", EVA_BY_NAME)]).status_code == 201
    [candidate] = _candidates(app, http)
    assert _confirm(app, http, candidate["id"]).status_code == 200


def _withheld(response: Any) -> bool:
    return "subject-restricted" in json.dumps(response.json)


def test_a_restriction_of_a_guessed_bsn_does_not_tell_a_link_to_a_person_known_by_name(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _eva_linked_across_keys(gateway_app, http)
    officer = token(gateway_app, VLAARDINGEN, OFFICER)
    by_name = [person("p1", EVA_BY_NAME), person("p2", {**EVA_BY_NAME, "given_names": "Ada"})]
    outcomes = []
    for guess in (STRANGER_BSN, {"bsn": EVA["bsn"]}):
        restricted = http.post("/v1/rights/restrictions", json={"identifiers": guess},
                               headers=officer)
        assert restricted.status_code == 201, restricted.json
        sent = send(gateway_app, http, by_name)
        outcomes.append((sent.status_code, _withheld(sent)))

    assert outcomes == [(201, False), (201, False)]
    # The restriction still holds for every other sender, under every key and link.
    other = send(gateway_app, http, [person("p1", EVA_BY_NAME)], sender=POLITIE)
    assert other.status_code == 403
    assert _withheld(other)


def test_the_restricting_partner_is_still_withheld_under_the_keys_its_officer_named(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _eva_linked_across_keys(gateway_app, http)
    restricted = http.post("/v1/rights/restrictions", json={"identifiers": EVA_BY_NAME},
                           headers=token(gateway_app, VLAARDINGEN, OFFICER))
    assert restricted.status_code == 201, restricted.json

    for sent_as in (EVA_BY_NAME, EVA):
        response = send(gateway_app, http, [person("p1", sent_as)])
        assert response.status_code == 403, sent_as
        assert _withheld(response)


def test_a_hostile_candidate_id_is_a_404_on_every_database(
    gateway_app: Flask, http: FlaskClient
) -> None:
    """Whatever the id, an unknown candidate answers alike: never a 5xx that tells one
    database's refusal from a pair that is not there."""
    reviewer = token(gateway_app, RIEC, ("linkage:write",))
    for hostile in ("%00", "a%00b", "%C0%80", "%FF", "0" * 37,
                    "00000000-0000-4000-8000-00000000000%00"):
        for action in ("decision", "unlink"):
            response = http.post(f"/v1/linkage/candidates/{hostile}/{action}",
                                 json={"decision": "rejected"}, headers=reviewer)
            assert response.status_code == 404, (hostile, action)
            assert response.mimetype == "application/problem+json"
