"""Subjects of three kinds: persons (fully or partially known), locations and organisations.

Each is sealed in the vault, shown to each recipient under that recipient's own pseudonym, and
linked across partners by its deterministic key (normalised address, KvK number).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body, item

INSPECTIE = "arbeidsinspectie"
WAREHOUSE = {"postcode": "3011 AB", "house_number": "12", "house_number_addition": "a",
             "description": "achterhuis"}
CLEANING_COMPANY = {"kvk_number": "69599084", "establishment_number": "000038509504",
                    "trade_name": "Schoonmaakbedrijf De Bezem"}


def location(identifiers: dict[str, str] | None = None, ref: str = "l1") -> dict[str, Any]:
    return {"ref": ref, "kind": "locatie", "role": "betrokkene",
            "identifiers": dict(WAREHOUSE if identifiers is None else identifiers)}


def organisation(identifiers: dict[str, str] | None = None, ref: str = "o1") -> dict[str, Any]:
    return {"ref": ref, "kind": "organisatie", "role": "faciliteerder",
            "identifiers": dict(CLEANING_COMPANY if identifiers is None else identifiers)}


def signal_about(*subjects: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A detectie signal whose every item names one of ``subjects``."""
    return exchange_body(
        subjects=list(subjects),
        items=[item("uitbuitingssignalen", s["ref"], indicators=["overbewoning"])
               for s in subjects],
        **overrides)


def send(app: Flask, http: FlaskClient, sender: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post("/v1/exchanges", json=body, headers=bearer(app, sender))
    assert response.status_code == 201, response.json
    answer: dict[str, Any] = response.json
    return answer


def inbox(app: Flask, http: FlaskClient, partner: str) -> list[dict[str, Any]]:
    response = http.get("/v1/inbox", headers=bearer(app, partner, ("inbox:read",)))
    assert response.status_code == 200, response.json
    deliveries: list[dict[str, Any]] = response.json["items"]
    return deliveries


def delivered_subjects(app: Flask, http: FlaskClient, partner: str) -> list[dict[str, Any]]:
    return [s for delivery in inbox(app, http, partner) for s in delivery["subjects"]]


def refused(app: Flask, http: FlaskClient, body: dict[str, Any]) -> dict[str, str]:
    response = http.post("/v1/exchanges", json=body, headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 422, response.json
    return {e["pointer"]: e["detail"] for e in response.json["errors"]}


def test_a_location_only_signal_is_accepted_and_pseudonymised_per_recipient(
    gateway_app: Flask, http: FlaskClient
) -> None:
    send(gateway_app, http, VLAARDINGEN, signal_about(
        location(), recipients=[RIEC, INSPECTIE], exploitation_form="arbeidsuitbuiting"))

    [at_riec] = delivered_subjects(gateway_app, http, RIEC)
    [at_inspectie] = delivered_subjects(gateway_app, http, INSPECTIE)
    for seen in (at_riec, at_inspectie):
        assert seen["kind"] == "locatie"
        assert seen["confidence"] == "hoog"
        assert seen["identity"] == "pseudonym"
        assert "identifiers" not in seen
        assert "3011" not in seen["pseudonym"]
    assert at_riec["pseudonym"] != at_inspectie["pseudonym"], (
        "two recipients must not be able to join their records on an address")


def test_the_same_address_written_differently_by_two_partners_links(
    gateway_app: Flask, http: FlaskClient
) -> None:
    send(gateway_app, http, VLAARDINGEN, signal_about(location()))
    send(gateway_app, http, POLITIE, signal_about(location(
        {"postcode": "3011ab", "house_number": "12", "house_number_addition": "A",
         "bag_id": "0599010000123456", "description": "voorhuis"})))
    send(gateway_app, http, POLITIE, signal_about(location(
        {"postcode": "3011AB", "house_number": "12", "house_number_addition": "B"})))

    first, second, next_door = (s["pseudonym"] for s in
                                delivered_subjects(gateway_app, http, RIEC))
    assert first == second
    assert next_door != first


def test_an_organisation_links_by_kvk_number(gateway_app: Flask, http: FlaskClient) -> None:
    send(gateway_app, http, VLAARDINGEN, signal_about(organisation()))
    send(gateway_app, http, POLITIE, signal_about(organisation({"kvk_number": "69599084"})))

    first, second = delivered_subjects(gateway_app, http, RIEC)
    assert first["kind"] == second["kind"] == "organisatie"
    assert first["pseudonym"] == second["pseudonym"]


def test_a_victim_known_only_by_first_name_is_accepted_with_low_confidence(
    gateway_app: Flask, http: FlaskClient
) -> None:
    maria = {"ref": "p1", "role": "slachtoffer",
             "identifiers": {"given_names": "Maria", "approximate_age": "25"}}
    send(gateway_app, http, VLAARDINGEN, signal_about(maria))
    send(gateway_app, http, VLAARDINGEN, signal_about(maria))
    send(gateway_app, http, VLAARDINGEN, signal_about(
        {"ref": "p1", "role": "dader", "identifiers": {"nickname": "de Rus"}}))

    first, second, nickname = delivered_subjects(gateway_app, http, RIEC)
    assert (first["kind"], first["confidence"]) == ("persoon", "laag")
    assert nickname["confidence"] == "laag"
    assert first["pseudonym"] != second["pseudonym"], (
        "two reports of a 'Maria, about 25' are not joined on so little")


def test_a_subject_without_kind_is_a_fully_identified_person(
    gateway_app: Flask, http: FlaskClient
) -> None:
    send(gateway_app, http, VLAARDINGEN, exchange_body())

    [eva] = delivered_subjects(gateway_app, http, RIEC)
    assert (eva["kind"], eva["confidence"]) == ("persoon", "hoog")


@pytest.mark.parametrize(("subject", "pointer", "detail"), [
    ({"ref": "p1", "role": "slachtoffer", "identifiers": {"approximate_age": "25"}},
     "/subjects/0/identifiers", "needs a bsn"),
    ({"ref": "p1", "role": "slachtoffer", "identifiers": {"birth_date": "1999-04-02"}},
     "/subjects/0/identifiers", "with low confidence"),
    ({"ref": "p1", "role": "slachtoffer",
      "identifiers": {"given_names": "Maria", "approximate_age": "~25"}},
     "/subjects/0/identifiers/approximate_age", "whole years"),
    (location({"postcode": "3011 AB"}), "/subjects/0/identifiers", "house_number"),
    (location({"postcode": "3011 SA", "house_number": "1"}), "/subjects/0/identifiers/postcode",
     "never issued"),
    (location({"postcode": "301 AB", "house_number": "1"}), "/subjects/0/identifiers/postcode",
     "Dutch postcode"),
    (location({**WAREHOUSE, "bag_id": "12"}), "/subjects/0/identifiers/bag_id", "sixteen"),
    (location({**WAREHOUSE, "kvk_number": "69599084"}), "/subjects/0/identifiers/kvk_number",
     "unknown field"),
    ({**location(), "role": "slachtoffer"}, "/subjects/0/role", "not a role of a locatie"),
    (organisation({"kvk_number": "1234"}), "/subjects/0/identifiers/kvk_number", "eight digits"),
    (organisation({"kvk_number": "00000000"}), "/subjects/0/identifiers/kvk_number", "zeros"),
    (organisation({"trade_name": "De Bezem"}), "/subjects/0/identifiers", "kvk_number"),
    ({**organisation(), "kind": "schip"}, "/subjects/0/kind", "unknown subject kind"),
])
def test_what_is_not_enough_is_a_422_naming_the_field(
    gateway_app: Flask, http: FlaskClient, session: Session,
    subject: dict[str, Any], pointer: str, detail: str,
) -> None:
    errors = refused(gateway_app, http, signal_about(subject))

    assert pointer in errors, errors
    assert detail in errors[pointer]
    assert session.scalar(select(func.count()).select_from(Exchange)) == 0


def test_an_unknown_indicator_is_a_422_pointing_into_the_content(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    body = exchange_body(items=[item("uitbuitingssignalen", "p1",
                                     indicators=["geen-id-papieren", "vliegend-tapijt"])])

    errors = refused(gateway_app, http, body)

    assert errors == {"/items/0/content/indicators/1":
                      "not an indicator of the Signalenlijst mensenhandel"}
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    [rejection] = [json.loads(e.entry) for e in session.scalars(select(AuditEntry))]
    assert rejection["fields"] == ["/items/0/content/*"]
    assert "vliegend" not in json.dumps(rejection)


def test_content_breaking_the_category_schema_is_a_422(
    gateway_app: Flask, http: FlaskClient
) -> None:
    body = exchange_body(items=[item("uitbuitingssignalen", "p1", indicators="overbewoning",
                                     observed_at="gisteren")])

    errors = refused(gateway_app, http, body)

    assert set(errors) == {"/items/0/content/indicators", "/items/0/content/observed_at"}


def test_an_unknown_form_of_exploitation_is_a_422(gateway_app: Flask, http: FlaskClient) -> None:
    errors = refused(gateway_app, http, exchange_body(exploitation_form="overige"))

    assert "/exploitation_form" in errors


def test_labour_exploitation_signals_go_to_the_labour_inspectorate_only(
    gateway_app: Flask, http: FlaskClient
) -> None:
    recipients = [RIEC, INSPECTIE, POLITIE, "gemeente-rotterdam"]
    labour = send(gateway_app, http, VLAARDINGEN, signal_about(
        location(), recipients=recipients, exploitation_form="arbeidsuitbuiting"))
    sexual = send(gateway_app, http, VLAARDINGEN, signal_about(
        location(), recipients=recipients, exploitation_form="seksuele_uitbuiting"))

    def allowed(answer: dict[str, Any]) -> set[str]:
        return {d["recipient"] for d in answer["decisions"] if d["allowed"]}

    assert allowed(labour) == {RIEC, INSPECTIE}
    assert allowed(sexual) == {RIEC}
    [inspectie_refused] = [d for d in sexual["decisions"] if d["recipient"] == INSPECTIE]
    assert {r["code"] for r in inspectie_refused["reasons"]} == {"exploitation-form-not-granted"}
    [delivery] = inbox(gateway_app, http, INSPECTIE)
    assert delivery["exploitation_form"] == "arbeidsuitbuiting"


def test_the_audit_entry_names_a_location_by_audit_pseudonym_and_kind_only(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    send(gateway_app, http, VLAARDINGEN, signal_about(
        location(), organisation(), exploitation_form="arbeidsuitbuiting"))

    [entry] = [json.loads(e.entry) for e in session.scalars(select(AuditEntry))]
    assert entry["exploitation_form"] == "arbeidsuitbuiting"
    assert [(s["kind"], s["audit_pseudonym"][:3]) for s in entry["subjects"]] == [
        ("locatie", "AUD"), ("organisatie", "AUD")]


def test_subject_access_for_an_address_finds_the_entries_about_it(
    gateway_app: Flask, http: FlaskClient
) -> None:
    send(gateway_app, http, VLAARDINGEN, signal_about(location()))
    officer = bearer(gateway_app, RIEC, ("audit:read",))

    found = http.post("/v1/audit/subject-access", headers=officer, json={
        "kind": "locatie", "identifiers": {"postcode": "3011AB", "house_number": "12",
                                           "house_number_addition": "A"}})
    other = http.post("/v1/audit/subject-access", headers=officer, json={
        "kind": "locatie", "identifiers": {"postcode": "3011AB", "house_number": "14"}})

    assert found.status_code == 200, found.json
    assert [e["action"] for e in found.json["entries"]] == ["exchange.delivered"]
    assert other.status_code == 200
    assert other.json["entries"] == []


def test_the_riec_names_a_location_in_a_case_alongside_a_person(
    gateway_app: Flask, http: FlaskClient
) -> None:
    eva = {"ref": "p1", "role": "slachtoffer", "identifiers": dict(EVA)}
    exchange = send(gateway_app, http, VLAARDINGEN, signal_about(location(), eva))
    pand, person = delivered_subjects(gateway_app, http, RIEC)

    created = http.post("/v1/cases", headers=bearer(gateway_app, RIEC, ("case:write",)), json={
        "covenant": "riec-rr-mensenhandel", "signals": [exchange["id"]],
        "subjects": [{"pseudonym": pand["pseudonym"], "role": "betrokkene"},
                     {"pseudonym": person["pseudonym"], "role": "slachtoffer"}],
        "case_manager": VLAARDINGEN})

    assert created.status_code == 201, created.json
    assert len(created.json["subjects"]) == 2
