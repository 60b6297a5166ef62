"""PolicyService: fail closed on every engine failure, and cache only real decisions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.interfaces import (
    Decision,
    DecisionRequest,
    PolicyEngineError,
    PolicyTimeout,
    PolicyUndefined,
    Reason,
)
from gateway.policy.services import PolicyService

from .conftest import TODAY, make_request

GOOD_RESULT: dict[str, Any] = {
    "allowed": True,
    "categories_delivered": ["uitbuitingssignalen"],
    "categories_withheld": [],
    "identity": "pseudonym",
    "grants": {"uitbuitingssignalen": ["signalen-detectie"]},
    "reasons": [],
    "covenant_version": "2026.1",
    "identities": {"uitbuitingssignalen": "pseudonym"},
    "subject_identities": {},
}


class ScriptedEngine:
    """An engine whose answers a test dictates: a value to return or an exception to raise."""

    def __init__(self, *answers: Any, bundle_hash: str = "hash-1") -> None:
        self.answers = list(answers)
        self.bundle_hash = bundle_hash
        self.calls = 0

    def evaluate(self, input: dict[str, Any]) -> Any:
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _assert_denied(decision: Decision, request: DecisionRequest, code: str) -> None:
    assert decision.allowed is False
    assert decision.categories_delivered == ()
    assert decision.categories_withheld == tuple(sorted(request.categories))
    assert decision.identity == "none"
    assert decision.grants == {}
    assert [r.code for r in decision.reasons] == [code]


# --- fail closed ---


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (PolicyEngineError("connection refused"), "engine-error"),
        (PolicyTimeout("2.0 s"), "engine-timeout"),
        (PolicyUndefined("no result"), "undefined-result"),
    ],
)
def test_engine_failure_denies_everything(failure: Exception, code: str) -> None:
    request = make_request(categories=("uitbuitingssignalen", "strafrechtelijk"))
    _assert_denied(PolicyService(ScriptedEngine(failure)).decide(request), request, code)


def test_failure_reason_does_not_leak_engine_details() -> None:
    engine = ScriptedEngine(PolicyEngineError("http://opa.internal:8181 refused"))
    decision = PolicyService(engine).decide(make_request())
    assert "opa.internal" not in decision.reasons[0].message


MALFORMED_RESULTS: dict[str, Any] = {
    "not an object": ["allowed"],
    "missing field": {k: v for k, v in GOOD_RESULT.items() if k != "identity"},
    "allowed not boolean": {**GOOD_RESULT, "allowed": "true"},
    "unknown identity": {**GOOD_RESULT, "identity": "full"},
    "unrequested category delivered": {
        **GOOD_RESULT,
        "categories_delivered": ["uitbuitingssignalen", "gezondheid"],
        "grants": {"uitbuitingssignalen": ["g"], "gezondheid": ["g"]},
    },
    "allowed with nothing delivered": {
        **GOOD_RESULT, "categories_delivered": [], "categories_withheld": ["uitbuitingssignalen"],
        "grants": {},
    },
    "denied yet delivered": {**GOOD_RESULT, "allowed": False},
    "delivered without grant": {**GOOD_RESULT, "grants": {}},
    "empty grant list": {**GOOD_RESULT, "grants": {"uitbuitingssignalen": []}},
    "reason without code": {**GOOD_RESULT, "reasons": [{"message": "m"}]},
    "version not string": {**GOOD_RESULT, "covenant_version": 3},
    "no per-person levels": {k: v for k, v in GOOD_RESULT.items() if k != "subject_identities"},
    "level of an undelivered category": {**GOOD_RESULT, "identities": {"gezondheid": "none"}},
    "level of an unnamed person": {**GOOD_RESULT, "subject_identities": {"p9": "pseudonym"}},
    "unknown person level": {**GOOD_RESULT, "identities": {"uitbuitingssignalen": "full"}},
}


@pytest.mark.parametrize("result", MALFORMED_RESULTS.values(), ids=MALFORMED_RESULTS.keys())
def test_malformed_result_denies(result: Any) -> None:
    request = make_request()
    decision = PolicyService(ScriptedEngine(result)).decide(request)
    _assert_denied(decision, request, "undefined-result")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
# Results that are right except for up to two fields replaced by arbitrary JSON.
NEARLY_GOOD = st.dictionaries(st.sampled_from(list(GOOD_RESULT)), JSON, max_size=2).map(
    lambda changes: {**GOOD_RESULT, **changes}
)


@settings(max_examples=300)
@given(result=JSON | NEARLY_GOOD)
def test_no_result_delivers_what_was_not_requested(result: Any) -> None:
    request = make_request()
    decision = PolicyService(ScriptedEngine(result)).decide(request)
    assert set(decision.categories_delivered) <= set(request.categories)
    assert decision.allowed == bool(decision.categories_delivered)
    assert set(decision.categories_delivered) | set(decision.categories_withheld) == set(
        request.categories
    )


def test_good_result_becomes_a_decision() -> None:
    engine = ScriptedEngine(GOOD_RESULT, bundle_hash="abc")
    decision = PolicyService(engine).decide(make_request())
    assert decision.allowed
    assert decision.grants == {"uitbuitingssignalen": ("signalen-detectie",)}
    assert decision.bundle_hash == "abc"
    assert decision.covenant == "riec-rr-mensenhandel"
    assert decision.recipient == "riec-rotterdam-rijnmond"


def test_reasons_come_out_in_a_stable_order() -> None:
    reasons = [
        {"code": "no-grant", "category": "b", "message": "m"},
        {"code": "covenant-expired", "message": "m"},
        {"code": "no-grant", "category": "a", "message": "m"},
    ]
    result = {
        **GOOD_RESULT, "allowed": False, "categories_delivered": [], "grants": {},
        "identities": {}, "categories_withheld": ["uitbuitingssignalen"], "reasons": reasons,
    }
    decision = PolicyService(ScriptedEngine(result)).decide(make_request())
    assert decision.reasons == (
        Reason("covenant-expired", "m"), Reason("no-grant", "m", "a"), Reason("no-grant", "m", "b"),
    )


def test_decision_as_dict_is_plain_json() -> None:
    engine = ScriptedEngine(GOOD_RESULT, bundle_hash="abc")
    assert PolicyService(engine).decide(make_request()).as_dict() == {
        "recipient": "riec-rotterdam-rijnmond",
        "allowed": True,
        "categories_delivered": ["uitbuitingssignalen"],
        "categories_withheld": [],
        "identity": "pseudonym",
        "identities": {"uitbuitingssignalen": "pseudonym"},
        "subject_identities": {},
        "grants": {"uitbuitingssignalen": ["signalen-detectie"]},
        "reasons": [],
        "covenant": "riec-rr-mensenhandel",
        "covenant_version": "2026.1",
        "bundle_hash": "abc",
    }


def test_request_as_input_is_the_rego_input_document() -> None:
    request = make_request(categories=("a", "b"), recipient_assigned=True,
                           subject_categories=(("p1", ("a",)), ("p2", ("a", "b"))),
                           exploitation_form="arbeidsuitbuiting")
    assert request.as_input() == {
        "exploitation_form": "arbeidsuitbuiting",
        "subjects": {"p1": ["a"], "p2": ["a", "b"]},
        "covenant": "riec-rr-mensenhandel",
        "purpose": "ketenaanpak-mensenhandel",
        "process_step": "detectie",
        "provider": "politie-rotterdam",
        "recipient": "riec-rotterdam-rijnmond",
        "categories": ["a", "b"],
        "today": TODAY,
        "recipient_assigned": True,
        "recipient_case_manager": False,
    }


# --- cache ---


def test_cache_hit_skips_the_engine_and_returns_the_same_decision() -> None:
    engine = ScriptedEngine(GOOD_RESULT)
    service = PolicyService(engine)
    first = service.decide(make_request())
    second = service.decide(make_request())
    assert second is first
    assert engine.calls == 1


def test_different_requests_are_cached_apart() -> None:
    engine = ScriptedEngine(GOOD_RESULT)
    service = PolicyService(engine)
    service.decide(make_request())
    service.decide(make_request(recipient_assigned=True))
    assert engine.calls == 2


def test_new_bundle_hash_misses_the_cache() -> None:
    engine = ScriptedEngine(GOOD_RESULT)
    service = PolicyService(engine)
    service.decide(make_request())
    engine.bundle_hash = "hash-2"
    decision = service.decide(make_request())
    assert engine.calls == 2
    assert decision.bundle_hash == "hash-2"


def test_cache_evicts_the_least_recently_used() -> None:
    engine = ScriptedEngine(GOOD_RESULT)
    service = PolicyService(engine, cache_size=2)
    first, second, third = (make_request(today=f"2026-06-0{day}") for day in (1, 2, 3))
    service.decide(first)
    service.decide(second)
    service.decide(first)
    service.decide(third)
    service.decide(first)
    assert engine.calls == 3
    service.decide(second)
    assert engine.calls == 4


def test_cache_size_zero_never_caches() -> None:
    engine = ScriptedEngine(GOOD_RESULT)
    service = PolicyService(engine, cache_size=0)
    service.decide(make_request())
    service.decide(make_request())
    assert engine.calls == 2


@pytest.mark.parametrize(
    "failure", [PolicyEngineError("down"), PolicyTimeout("slow"), {"garbage": True}]
)
def test_failures_are_not_cached(failure: Any) -> None:
    engine = ScriptedEngine(failure, GOOD_RESULT)
    service = PolicyService(engine)
    assert not service.decide(make_request()).allowed
    assert service.decide(make_request()).allowed
    assert engine.calls == 2


@settings(max_examples=50)
@given(
    categories=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(tuple),
    assigned=st.booleans(),
)
def test_equal_but_distinct_requests_share_one_cache_entry(
    categories: tuple[str, ...], assigned: bool
) -> None:
    denial = {
        **GOOD_RESULT, "allowed": False, "categories_delivered": [], "grants": {},
        "identities": {}, "categories_withheld": sorted(set(categories)),
    }
    engine = ScriptedEngine(denial)
    service = PolicyService(engine)
    first = service.decide(make_request(categories=categories, recipient_assigned=assigned))
    again = service.decide(make_request(categories=categories, recipient_assigned=assigned))
    assert first.covenant_version == "2026.1"
    assert again is first
    assert engine.calls == 1


def test_negative_cache_size_is_refused() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        PolicyService(ScriptedEngine(GOOD_RESULT), cache_size=-1)
