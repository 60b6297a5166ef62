"""Decisions over the demo covenants, through PolicyService and the embedded engine.

The matrix compares every decision with a plain reading of the covenant data; the named tests
below it pin down the RIEC practice the demo covenant is meant to encode, so a data change
that breaks that practice fails here even if the Rego still agrees with the data.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import Decision, DecisionRequest
from gateway.policy.services import PolicyService
from gateway.policy.signals import EXPLOITATION_FORMS

from .conftest import (
    OUTSIDER,
    POLICIES_PATH,
    RIEC,
    covenant_documents,
    granting,
    make_request,
    strongest_identity,
)

RIEC_COVENANT = "riec-rr-mensenhandel"
ZVH_COVENANT = "zvh-rijnmond-zorg"
GGD = "ggd-rotterdam-rijnmond"
POLITIE = "politie-rotterdam"
GEMEENTEN = ("gemeente-vlaardingen", "gemeente-rotterdam", "gemeente-schiedam")
WITHHELD_CODES = {"no-grant", "special-category-without-basis", "recipient-not-assigned",
                  "exploitation-form-not-granted"}
INSPECTIE = "arbeidsinspectie"
Matrix = dict[DecisionRequest, Decision]


def _codes(decision: Decision, category: str | None = None) -> set[str]:
    return {r.code for r in decision.reasons if category is None or r.category == category}


def _riec(matrix: Matrix) -> Matrix:
    return {r: d for r, d in matrix.items() if r.covenant == RIEC_COVENANT}


def test_matrix_covers_both_covenants(matrix: Matrix) -> None:
    assert {r.covenant for r in matrix} == {RIEC_COVENANT, ZVH_COVENANT}
    assert sum(d.allowed for d in matrix.values()) > 50


def test_matrix_agrees_with_the_covenant_data(bundle: PolicyBundle, matrix: Matrix) -> None:
    documents = covenant_documents(bundle)
    for request, decision in matrix.items():
        document = documents[request.covenant]
        parties = {p["partner"] for p in document["parties"]}
        expected = {
            category: granting(document, request, category)
            for category in request.categories
            if {request.provider, request.recipient} <= parties
        }
        expected = {category: ids for category, ids in expected.items() if ids}
        assert {c: set(ids) for c, ids in decision.grants.items()} == expected, request
        assert set(decision.categories_delivered) == set(expected), request
        assert decision.allowed == bool(expected), request
        all_ids = [i for ids in expected.values() for i in ids]
        assert decision.identity == strongest_identity(document, all_ids), request


def test_every_grant_is_exercised_by_the_matrix(bundle: PolicyBundle, matrix: Matrix) -> None:
    used = {i for d in matrix.values() for ids in d.grants.values() for i in ids}
    declared = {
        g["id"] for document in covenant_documents(bundle).values() for g in document["grants"]
    }
    assert used == declared


def test_withheld_categories_always_carry_a_reason(matrix: Matrix) -> None:
    for request, decision in matrix.items():
        request_level = {r.code for r in decision.reasons if r.category is None}
        for category in decision.categories_withheld:
            assert request_level or _codes(decision, category) & WITHHELD_CODES, request


# --- RIEC practice in the demo covenant ---


def test_at_detectie_only_the_riec_receives_and_the_inspectorate_labour_exploitation(
    matrix: Matrix,
) -> None:
    detectie = {r: d for r, d in _riec(matrix).items()
                if r.process_step == "detectie" and d.allowed}
    assert {d.recipient for r, d in detectie.items()
            if r.exploitation_form != "arbeidsuitbuiting"} == {RIEC}
    assert {d.recipient for d in detectie.values()} == {RIEC, INSPECTIE}
    for request, decision in detectie.items():
        if decision.recipient == INSPECTIE:
            assert request.exploitation_form == "arbeidsuitbuiting"
            assert decision.categories_delivered == ("huisvesting", "uitbuitingssignalen")
            assert decision.identity == "pseudonym"


def test_the_riecs_analysis_function_receives_pseudonymised_data_only(matrix: Matrix) -> None:
    analysis = [d for r, d in _riec(matrix).items() if r.purpose == "riec-analyse" and d.allowed]
    assert analysis
    assert {d.recipient for d in analysis} == {RIEC}
    assert {d.identity for d in analysis} == {"pseudonym"}
    assert not any({"strafrechtelijk", "gezondheid"} & set(d.categories_delivered)
                   for d in analysis)


def test_health_data_flows_only_from_the_ggd_to_the_riec(matrix: Matrix) -> None:
    flows = {
        (r.provider, r.recipient)
        for r, d in _riec(matrix).items()
        if "gezondheid" in d.categories_delivered
    }
    assert flows == {(GGD, RIEC)}


def test_criminal_data_flows_only_between_police_riec_and_prosecutor(matrix: Matrix) -> None:
    flows = {
        (r.provider, r.recipient)
        for r, d in _riec(matrix).items()
        if "strafrechtelijk" in d.categories_delivered
    }
    assert flows == {(POLITIE, RIEC), (RIEC, POLITIE), (RIEC, "om-rotterdam")}


def test_nothing_identified_flows_at_evaluatie(matrix: Matrix) -> None:
    evaluatie = [d for r, d in matrix.items() if r.process_step == "evaluatie"]
    assert any(d.allowed for d in evaluatie)
    assert all(d.identity != "identified" for d in evaluatie)


def test_only_the_riec_and_the_assigned_partner_receive_identities(matrix: Matrix) -> None:
    identified = [(r, d) for r, d in _riec(matrix).items() if d.identity == "identified"]
    assert identified
    for request, _ in identified:
        assert request.recipient == RIEC or (
            request.recipient_assigned
            and request.process_step in ("toewijzing_interventie", "uitvoering")
        ), request


def test_the_riec_receives_identities_from_dossiervorming_on(service: PolicyService) -> None:
    detectie = service.decide(make_request(categories=("strafrechtelijk",)))
    dossier = service.decide(
        make_request(categories=("strafrechtelijk",), process_step="dossiervorming")
    )
    assert (detectie.identity, dossier.identity) == ("pseudonym", "identified")


def test_health_data_reaches_the_riec_pseudonymised_only(matrix: Matrix) -> None:
    for request, decision in _riec(matrix).items():
        if decision.categories_delivered == ("gezondheid",):
            assert decision.identity == "pseudonym", request


MUNICIPAL_CATEGORIES = ("huisvesting", "uitbuitingssignalen", "verblijfplaats", "vergunningen")
OWN_CATEGORIES = {
    "gemeente-vlaardingen": MUNICIPAL_CATEGORIES,
    "gemeente-schiedam": MUNICIPAL_CATEGORIES,
    POLITIE: ("strafrechtelijk", "uitbuitingssignalen"),
    "arbeidsinspectie": ("arbeid", "uitbuitingssignalen"),
    "belastingdienst": ("financieel", "uitbuitingssignalen"),
    "ind": ("uitbuitingssignalen", "verblijfsstatus"),
    GGD: ("gezondheid", "uitbuitingssignalen"),
    "om-rotterdam": ("uitbuitingssignalen",),
}


@pytest.mark.parametrize(("provider", "own"), OWN_CATEGORIES.items())
def test_each_partner_provides_exactly_its_own_categories_at_detectie(
    bundle: PolicyBundle, service: PolicyService, provider: str, own: tuple[str, ...]
) -> None:
    covenant = bundle.covenant(RIEC_COVENANT)
    assert covenant is not None
    everything = tuple(sorted(covenant.categories))
    decision = service.decide(make_request(provider=provider, categories=everything))
    assert decision.categories_delivered == own
    assert decision.identity == "pseudonym"


def test_the_riec_shares_onward_pseudonymised_from_weging_on(service: PolicyService) -> None:
    onward = make_request(
        provider=RIEC, recipient="arbeidsinspectie", categories=("financieel", "huisvesting")
    )
    early = service.decide(replace(onward, process_step="dossiervorming"))
    weging = service.decide(replace(onward, process_step="weging_kwalificatie"))
    assert not early.allowed
    assert weging.categories_delivered == ("financieel", "huisvesting")
    assert weging.identity == "pseudonym"


@pytest.mark.parametrize("step", ["toewijzing_interventie", "uitvoering"])
def test_intervention_goes_to_the_assigned_partner_identified(
    service: PolicyService, step: str
) -> None:
    request = make_request(
        provider=RIEC, recipient="gemeente-schiedam", process_step=step,
        categories=("interventie", "identiteit"),
    )
    unassigned = service.decide(request)
    assigned = service.decide(replace(request, recipient_assigned=True))
    assert not unassigned.allowed
    assert _codes(unassigned, "interventie") == {"recipient-not-assigned"}
    assert assigned.categories_delivered == ("identiteit", "interventie")
    assert assigned.identity == "identified"


def test_the_outsider_neither_sends_nor_receives(matrix: Matrix) -> None:
    involving = {r: d for r, d in matrix.items() if OUTSIDER in (r.provider, r.recipient)}
    assert involving
    for request, decision in involving.items():
        assert not decision.allowed
        assert _codes(decision) & {"provider-not-party", "recipient-not-party"}, request


# --- across covenants ---


def test_health_data_to_a_municipality_is_zvh_business_not_riec(service: PolicyService) -> None:
    base: dict[str, Any] = {
        "provider": GGD, "recipient": "gemeente-rotterdam", "process_step": "uitvoering",
        "categories": ("gezondheid",), "recipient_assigned": True,
    }
    under_riec = service.decide(make_request(**base))
    under_zvh = service.decide(
        make_request(**base, covenant=ZVH_COVENANT, purpose="zorg-en-veiligheid")
    )
    assert not under_riec.allowed
    assert _codes(under_riec, "gezondheid") == {"special-category-without-basis"}
    assert under_zvh.categories_delivered == ("gezondheid",)
    assert under_zvh.grants == {"gezondheid": ("ggd-gezondheid-casemanager",)}


@pytest.mark.parametrize(
    ("covenant", "purpose"),
    [(RIEC_COVENANT, "zorg-en-veiligheid"), (ZVH_COVENANT, "ketenaanpak-mensenhandel")],
)
def test_purposes_do_not_cross_covenants(
    service: PolicyService, covenant: str, purpose: str
) -> None:
    decision = service.decide(
        make_request(
            covenant=covenant, purpose=purpose, provider="gemeente-rotterdam",
            recipient=GGD if covenant == ZVH_COVENANT else RIEC, categories=("verblijfplaats",),
        )
    )
    assert not decision.allowed
    assert _codes(decision) == {"purpose-not-in-covenant"}


def test_a_category_of_another_covenant_is_unknown_here(service: PolicyService) -> None:
    decision = service.decide(make_request(categories=("zorgbehoefte", "uitbuitingssignalen")))
    assert decision.categories_delivered == ("uitbuitingssignalen",)
    assert _codes(decision, "zorgbehoefte") == {"unknown-category"}


# --- negatives around every grant ---


def _grant_cases() -> list[tuple[str, dict[str, Any]]]:
    documents = covenant_documents(PolicyBundle.load(POLICIES_PATH))
    return [(cid, grant) for cid, document in documents.items() for grant in document["grants"]]


@pytest.fixture(params=_grant_cases(), ids=lambda case: case[1]["id"])
def grant_case(request: pytest.FixtureRequest, bundle: PolicyBundle) -> dict[str, Any]:
    covenant_id, grant = request.param
    document = covenant_documents(bundle)[covenant_id]
    example = make_request(
        covenant=covenant_id,
        purpose=grant["purpose"],
        process_step=grant["process_steps"][0],
        provider=grant["providers"][0],
        recipient=grant["recipients"][0],
        categories=(grant["categories"][0],),
        recipient_assigned=grant.get("requires_assignment", False),
        recipient_case_manager=grant.get("requires_case_manager", False),
        exploitation_form=grant.get("exploitation_forms", ["onbekend"])[0],
    )
    return {"grant": grant, "document": document, "example": example}


def test_grant_example_is_delivered(service: PolicyService, grant_case: dict[str, Any]) -> None:
    decision = service.decide(grant_case["example"])
    category = grant_case["example"].categories[0]
    assert decision.allowed
    assert grant_case["grant"]["id"] in decision.grants[category]


def test_grant_does_not_reach_uncovered_steps(
    service: PolicyService, bundle: PolicyBundle, grant_case: dict[str, Any]
) -> None:
    example, document = grant_case["example"], grant_case["document"]
    category = example.categories[0]
    for step in bundle.process_steps:
        other = replace(example, process_step=step)
        if not granting(document, other, category):
            decision = service.decide(other)
            assert not decision.allowed, other
            assert _codes(decision, category) & WITHHELD_CODES, other


def test_grant_does_not_reach_uncovered_recipients(
    service: PolicyService, grant_case: dict[str, Any]
) -> None:
    example, document = grant_case["example"], grant_case["document"]
    category = example.categories[0]
    for party in document["parties"]:
        other = replace(example, recipient=party["partner"])
        if not granting(document, other, category):
            assert not service.decide(other).allowed, other


def test_grant_limited_to_forms_does_not_reach_other_forms(
    service: PolicyService, grant_case: dict[str, Any]
) -> None:
    example, document = grant_case["example"], grant_case["document"]
    category = example.categories[0]
    for form in set(EXPLOITATION_FORMS) - set(grant_case["grant"].get("exploitation_forms",
                                                                       EXPLOITATION_FORMS)):
        other = replace(example, exploitation_form=form)
        assert granting(document, other, category) == set()
        assert _codes(service.decide(other), category) == {"exploitation-form-not-granted"}


@pytest.mark.parametrize(("requirement", "relation", "code"), [
    ("requires_assignment", "recipient_assigned", "recipient-not-assigned"),
    ("requires_case_manager", "recipient_case_manager", "recipient-not-case-manager"),
])
def test_grant_requires_its_relation(
    service: PolicyService, grant_case: dict[str, Any], requirement: str, relation: str,
    code: str
) -> None:
    example, document = grant_case["example"], grant_case["document"]
    without = replace(example, **{relation: False})
    if grant_case["grant"].get(requirement):
        category, grant_id = example.categories[0], grant_case["grant"]["id"]
        decision = service.decide(without)
        assert grant_id not in granting(document, without, category)
        assert grant_id not in decision.grants.get(category, ())
        # Where no other grant delivers the category, the missing relation is the reason.
        if not granting(document, without, category):
            assert _codes(decision, category) == {code}
    else:
        assert service.decide(without).allowed


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"provider": OUTSIDER}, "provider-not-party"),
        ({"recipient": OUTSIDER}, "recipient-not-party"),
        ({"provider": "onbekende-partij"}, "provider-not-party"),
        ({"process_step": "opsporing"}, "unknown-step"),
        ({"covenant": "geen-convenant"}, "unknown-covenant"),
        ({"purpose": "handhaving"}, "unknown-purpose"),
    ],
)
def test_grant_example_denied_for_request_level_causes(
    service: PolicyService, grant_case: dict[str, Any], changes: dict[str, Any], code: str
) -> None:
    decision = service.decide(replace(grant_case["example"], **changes))
    assert not decision.allowed
    assert code in _codes(decision)
    assert decision.categories_withheld == grant_case["example"].categories


def test_grant_example_denied_under_the_other_purpose(
    service: PolicyService, bundle: PolicyBundle, grant_case: dict[str, Any]
) -> None:
    example = grant_case["example"]
    other_purposes = {
        p["id"]
        for cid, document in covenant_documents(bundle).items()
        if cid != example.covenant
        for p in document["purposes"]
    }
    for purpose in other_purposes:
        decision = service.decide(replace(example, purpose=purpose))
        assert _codes(decision) == {"purpose-not-in-covenant"}


def test_grant_example_denied_outside_the_covenant_period(
    service: PolicyService, grant_case: dict[str, Any]
) -> None:
    document, example = grant_case["document"], grant_case["example"]
    before = date.fromisoformat(document["valid_from"]) - timedelta(days=1)
    after = date.fromisoformat(document["valid_until"]) + timedelta(days=1)
    early = service.decide(replace(example, today=before.isoformat()))
    late = service.decide(replace(example, today=after.isoformat()))
    assert _codes(early) == {"covenant-not-yet-valid"}
    assert _codes(late) == {"covenant-expired"}


@settings(max_examples=40, deadline=None)
@given(day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_validity_follows_the_covenant_period(
    regopy_engine: Any, bundle: PolicyBundle, day: date
) -> None:
    document = covenant_documents(bundle)["riec-rr-mensenhandel"]
    valid_from, valid_until = (date.fromisoformat(document[key])
                               for key in ("valid_from", "valid_until"))
    service = PolicyService(regopy_engine)
    decision = service.decide(make_request(today=day.isoformat()))
    assert decision.allowed == (valid_from <= day <= valid_until)
