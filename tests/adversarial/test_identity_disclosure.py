"""Attacks on identity disclosure: merged records, mixed-category exchanges, linkage review.

Each test plays a partner trying to learn an identity the covenants do not give it, through the
documented API only (real tokens from ``bearer``), and asserts that it fails. The attacks of
issue 12, holes 2 to 4:

* a recipient is shown another sender's fields of a person (the vault's merged record);
* a person whose item's grant is pseudonymised is identified because another item of the same
  exchange, about someone else, has an identified grant;
* the regie of one covenant lists and confirms candidate pairs of persons exchanged only under
  another covenant; a (false) link shows one person's identity to a recipient of the other;
* a single reviewer confirms a link alone.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.linkage.models import LinkageCandidate
from tests.factories import (
    EVA,
    GGD,
    PIETER,
    POLITIE,
    RIEC,
    VLAARDINGEN,
    bearer,
    exchange_body,
    item,
)

ZORG_COVENANT = "zvh-rijnmond-zorg"
ZORG_PURPOSE = "zorg-en-veiligheid"
INBOX = ("inbox:read",)
REVIEW = ("linkage:read", "linkage:write")
# What the police know about Eva and send the RIEC under the trafficking covenant.
EVA_AS_POLICE_KNOW_HER = {**EVA, "address": "Havenstraat 12, Vlaardingen",
                          "document_number": "NX4412990", "nationality": "Roemeens"}
# Pieter, and someone else the linkage will find similar: a different person.
PIETER_LOOKALIKE = {"family_name": "de Vreis", "given_names": "Pieter",
                    "birth_date": "1980-07-15", "address": "Kade 3, Schiedam"}


def _send(app: Flask, http: FlaskClient, sender: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post("/v1/exchanges", json=body, headers=bearer(app, sender))
    assert response.status_code == 201, response.json
    result: dict[str, Any] = response.json
    return result


def _delivered_subjects(app: Flask, http: FlaskClient, recipient: str, exchange_id: str
                        ) -> dict[str, dict[str, Any]]:
    """The recipient's view of the persons of one exchange, by ref."""
    inbox = http.get("/v1/inbox?limit=200", headers=bearer(app, recipient, INBOX))
    assert inbox.status_code == 200, inbox.json
    [delivery] = [d for d in inbox.json["items"] if d["exchange_id"] == exchange_id]
    return {s["ref"]: s for s in delivery["subjects"]}


def _riec_signal(identifiers: dict[str, str], step: str = "dossiervorming") -> dict[str, Any]:
    """A municipality's signal about one person to the RIEC, identified from dossiervorming."""
    return exchange_body(process_step=step, subjects=[
        {"ref": "p1", "role": "slachtoffer", "identifiers": identifiers}])


def _candidates(app: Flask, http: FlaskClient, reviewer: dict[str, str]) -> list[dict[str, Any]]:
    response = http.get("/v1/linkage/candidates", headers=reviewer)
    assert response.status_code == 200, response.json
    items: list[dict[str, Any]] = response.json["items"]
    return items


def _confirm(http: FlaskClient, candidate_id: str, reviewer: dict[str, str]) -> Any:
    return http.post(f"/v1/linkage/candidates/{candidate_id}/decision",
                     json={"decision": "confirmed"}, headers=reviewer)


# --- hole 2: identity as sent, per delivery ---


def test_the_ggd_never_sees_what_the_police_sent_the_riec_under_another_covenant(
    gateway_app: Flask, http: FlaskClient
) -> None:
    _send(gateway_app, http, POLITIE, exchange_body(
        process_step="dossiervorming",
        subjects=[{"ref": "p1", "role": "slachtoffer", "identifiers": EVA_AS_POLICE_KNOW_HER}],
        items=[item("strafrechtelijk", feit="uitbuiting")]))
    sent_by_municipality = dict(EVA)
    zorg = _send(gateway_app, http, VLAARDINGEN, {
        "covenant": ZORG_COVENANT, "purpose": ZORG_PURPOSE, "process_step": "weging_kwalificatie",
        "recipients": [GGD], "case_id": None,
        "subjects": [{"ref": "p1", "role": "betrokkene", "identifiers": sent_by_municipality}],
        "items": [item("identiteit")]})

    subjects = _delivered_subjects(gateway_app, http, GGD, zorg["id"])

    leaked = {"address", "document_number", "nationality"} & subjects["p1"]["identifiers"].keys()
    assert leaked == set()
    assert subjects["p1"]["identifiers"] == sent_by_municipality
    assert subjects["p1"]["identity"] == "identified"


def test_the_riec_is_shown_each_exchange_as_its_own_sender_sent_it(
    gateway_app: Flask, http: FlaskClient
) -> None:
    by_police = _send(gateway_app, http, POLITIE, exchange_body(
        process_step="dossiervorming",
        subjects=[{"ref": "p1", "role": "slachtoffer", "identifiers": EVA_AS_POLICE_KNOW_HER}],
        items=[item("strafrechtelijk", feit="uitbuiting")]))
    by_municipality = _send(gateway_app, http, VLAARDINGEN, _riec_signal(dict(EVA)))

    police_view = _delivered_subjects(gateway_app, http, RIEC, by_police["id"])["p1"]
    municipality_view = _delivered_subjects(gateway_app, http, RIEC, by_municipality["id"])["p1"]

    assert police_view["pseudonym"] == municipality_view["pseudonym"]
    assert police_view["identifiers"] == EVA_AS_POLICE_KNOW_HER
    assert municipality_view["identifiers"] == EVA


# --- hole 3: identity level per person ---


def test_a_health_item_keeps_its_person_pseudonymised_beside_an_identified_item(
    gateway_app: Flask, http: FlaskClient
) -> None:
    body = exchange_body(
        process_step="dossiervorming",
        subjects=[{"ref": "a", "role": "slachtoffer", "identifiers": dict(EVA)},
                  {"ref": "b", "role": "dader", "identifiers": dict(PIETER)}],
        items=[item("gezondheid", "a", diagnose="letsel"),
               item("uitbuitingssignalen", "b", indicators=["schulden-bij-werkgever"])])

    exchange = _send(gateway_app, http, GGD, body)
    subjects = _delivered_subjects(gateway_app, http, RIEC, exchange["id"])

    assert "identifiers" not in subjects["a"]
    assert subjects["b"]["identifiers"] == PIETER
    [decision] = exchange["decisions"]
    assert decision["subject_identities"] == {"a": "pseudonym", "b": "identified"}
    assert subjects["a"]["identity"] == "pseudonym"


def test_a_person_named_by_a_health_item_and_an_identified_item_stays_pseudonymised(
    gateway_app: Flask, http: FlaskClient
) -> None:
    body = exchange_body(
        process_step="dossiervorming",
        subjects=[{"ref": "a", "role": "slachtoffer", "identifiers": dict(EVA)}],
        items=[item("gezondheid", "a", diagnose="letsel"),
               item("uitbuitingssignalen", "a", indicators=["schulden-bij-werkgever"])])

    exchange = _send(gateway_app, http, GGD, body)
    subjects = _delivered_subjects(gateway_app, http, RIEC, exchange["id"])

    assert "identifiers" not in subjects["a"]
    assert "111222333" not in str(subjects)
    assert exchange["decisions"][0]["subject_identities"] == {"a": "pseudonym"}


# --- hole 4: linkage scoped by covenant, four eyes, links never widen a view ---


def _zorg_signal(identifiers: dict[str, str]) -> dict[str, Any]:
    """A municipality's care signal to the GGD: the trafficking covenant is not involved."""
    return {"covenant": ZORG_COVENANT, "purpose": ZORG_PURPOSE, "process_step": "detectie",
            "recipients": [GGD], "case_id": None,
            "subjects": [{"ref": "p1", "role": "betrokkene", "identifiers": identifiers}],
            "items": [item("zorgbehoefte", ondersteuning="wonen")]}


def test_the_riec_cannot_list_or_confirm_a_pair_exchanged_only_under_another_covenant(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _send(gateway_app, http, VLAARDINGEN, _zorg_signal(dict(PIETER)))
    _send(gateway_app, http, VLAARDINGEN, _zorg_signal(PIETER_LOOKALIKE))
    # The pair exists: an operator reading the table sees it; the RIEC must not.
    [pair_id] = session.scalars(select(LinkageCandidate.id)).all()

    listed = _candidates(gateway_app, http, bearer(gateway_app, RIEC, REVIEW))
    confirmations = [_confirm(http, pair_id, bearer(gateway_app, RIEC, REVIEW))
                     for _ in range(2)]

    assert listed == []
    assert [c.status_code for c in confirmations] == [404, 404]
    stored = session.get(LinkageCandidate, pair_id)
    assert stored is not None
    assert (stored.status, stored.first_confirmed_by) == ("pending", None)


def test_a_pair_is_out_of_scope_when_only_one_person_was_exchanged_under_the_covenant(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    _send(gateway_app, http, VLAARDINGEN, _riec_signal(dict(PIETER), step="detectie"))
    _send(gateway_app, http, VLAARDINGEN, _zorg_signal(PIETER_LOOKALIKE))
    assert len(session.scalars(select(LinkageCandidate.id)).all()) == 1

    assert _candidates(gateway_app, http, bearer(gateway_app, RIEC, REVIEW)) == []


def test_a_false_link_never_shows_one_persons_identity_to_a_recipient_of_the_other(
    gateway_app: Flask, http: FlaskClient
) -> None:
    pieter = _send(gateway_app, http, VLAARDINGEN, _riec_signal(dict(PIETER)))
    _send(gateway_app, http, VLAARDINGEN, _riec_signal(PIETER_LOOKALIKE))
    [pair] = _candidates(gateway_app, http, bearer(gateway_app, RIEC, REVIEW))
    for reviewer in (bearer(gateway_app, RIEC, REVIEW), bearer(gateway_app, RIEC, REVIEW)):
        _confirm(http, pair["id"], reviewer)

    lookalike_again = _send(gateway_app, http, VLAARDINGEN, _riec_signal(PIETER_LOOKALIKE))
    pieter_view = _delivered_subjects(gateway_app, http, RIEC, pieter["id"])["p1"]
    lookalike_view = _delivered_subjects(gateway_app, http, RIEC, lookalike_again["id"])["p1"]

    assert lookalike_view["pseudonym"] == pieter_view["pseudonym"]  # the link took effect
    assert lookalike_view["identifiers"] == PIETER_LOOKALIKE
    assert pieter_view["identifiers"] == PIETER


def test_a_single_reviewer_cannot_confirm_a_link_alone(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    first = _send(gateway_app, http, VLAARDINGEN, _riec_signal(dict(PIETER), step="detectie"))
    _send(gateway_app, http, VLAARDINGEN, _riec_signal(PIETER_LOOKALIKE, step="detectie"))
    reviewer = bearer(gateway_app, RIEC, REVIEW)
    [pair] = _candidates(gateway_app, http, reviewer)

    answers = [_confirm(http, pair["id"], reviewer) for _ in range(2)]

    assert [a.status_code for a in answers] == [202, 403]
    stored = session.get(LinkageCandidate, pair["id"])
    assert stored is not None
    assert stored.status == "pending"
    again = _send(gateway_app, http, VLAARDINGEN, _riec_signal(PIETER_LOOKALIKE, step="detectie"))
    first_view = _delivered_subjects(gateway_app, http, RIEC, first["id"])["p1"]
    again_view = _delivered_subjects(gateway_app, http, RIEC, again["id"])["p1"]
    assert again_view["pseudonym"] != first_view["pseudonym"]


def test_a_reidentification_releases_only_what_the_releasable_exchange_sent(
    gateway_app: Flask, http: FlaskClient
) -> None:
    suspect = {"ref": "p1", "role": "dader"}
    _send(gateway_app, http, POLITIE, exchange_body(
        subjects=[{**suspect, "identifiers": EVA_AS_POLICE_KNOW_HER}],
        items=[item("strafrechtelijk", feit="uitbuiting")]))
    by_municipality = _send(gateway_app, http, VLAARDINGEN, exchange_body(
        process_step="dossiervorming", subjects=[{**suspect, "identifiers": dict(EVA)}]))
    pseudonym = _delivered_subjects(gateway_app, http, RIEC, by_municipality["id"])["p1"][
        "pseudonym"]

    released = http.post("/v1/reidentifications", json={
        "pseudonym": pseudonym, "reason": "dossiervorming vraagt de identiteit voor het overleg"},
        headers=bearer(gateway_app, RIEC, ("reidentify",)))

    assert released.status_code == 200, released.json
    assert released.json["identity"] == EVA
