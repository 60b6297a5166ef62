"""The router asks the policy once per agenda, remembers answers, and fails closed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from gateway.meetings.routing import AgendaRouter, Routed, RoutingQuestion
from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import PolicyEngineError
from gateway.problems import Problem
from tests.conftest import TEST_TODAY
from tests.factories import GGD, POLITIE, RIEC

COVENANT = "riec-rr-mensenhandel"
TODAY = TEST_TODAY.isoformat()


class CountingPolicy:
    """The app's real policy service, counting how often the engine is asked."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    @property
    def bundle(self) -> PolicyBundle:
        bundle: PolicyBundle = self.real.bundle
        return bundle

    def evaluate(self, entrypoint: str, input: dict[str, Any]) -> tuple[str, Any]:
        self.calls += 1
        answer: tuple[str, Any] = self.real.evaluate(entrypoint, input)
        return answer


class AnsweringPolicy:
    """A policy engine that gives ``answer`` (or raises it): the failure modes under test."""

    def __init__(self, real: Any, answer: Any) -> None:
        self.real = real
        self.answer = answer

    @property
    def bundle(self) -> PolicyBundle:
        bundle: PolicyBundle = self.real.bundle
        return bundle

    def evaluate(self, entrypoint: str, input: dict[str, Any]) -> tuple[str, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return "hash", self.answer


QUESTIONS = [RoutingQuestion(p, step, involvement, case_manager=False)
             for p in (RIEC, POLITIE, GGD)
             for step in ("detectie", "weging_kwalificatie", "uitvoering")
             for involvement in (None, "assigned")]


def test_one_policy_call_routes_a_whole_agenda_and_repeats_come_from_the_cache(
    gateway_app: Flask
) -> None:
    policy = CountingPolicy(gateway_app.extensions["ketenpoort"].policy)
    router = AgendaRouter(policy)

    first = router.route(COVENANT, TODAY, QUESTIONS)
    second = router.route(COVENANT, TODAY, QUESTIONS)
    next_day = router.route(COVENANT, (TEST_TODAY + timedelta(days=1)).isoformat(), QUESTIONS[:1])

    assert policy.calls == 2
    assert first == second
    assert first[RoutingQuestion(POLITIE, "uitvoering", "assigned", case_manager=False)] == Routed(
        "full", "involved-identified")
    assert next_day == {QUESTIONS[0]: Routed("full", "regie")}


@pytest.mark.parametrize("answer", [
    PolicyEngineError("down"),
    {"views": []},
    {"views": [{"view": "everything", "reason": "x"}] * len(QUESTIONS)},
    {"nothing": True},
    ["not", "an", "object"],
])
def test_no_answer_or_a_malformed_one_routes_nothing(gateway_app: Flask, answer: Any) -> None:
    router = AgendaRouter(AnsweringPolicy(gateway_app.extensions["ketenpoort"].policy, answer))

    with pytest.raises(Problem) as raised:
        router.route(COVENANT, TODAY, QUESTIONS)

    assert raised.value.status == 503
    assert raised.value.slug == "policy-unavailable"
