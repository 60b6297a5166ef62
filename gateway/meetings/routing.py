"""Routing: which view of each agenda item each participant gets, decided by the policy.

A view depends on the participant, the case's step, the participant's involvement in the
case and whether it is the case's case manager, under one covenant, bundle and day. Those are
the cache key, so the cache stays valid exactly as long as the case does not move, nobody is
(un)assigned and the case manager stays the same; a whole agenda's
uncached questions go to the policy in one evaluation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.meetings.interfaces import VIEWS, AgendaPolicy
from gateway.policy.interfaces import AGENDA_ENTRYPOINT, PolicyEngineError
from gateway.problems import unavailable


@dataclass(frozen=True)
class RoutingQuestion:
    participant: str
    step: str
    involvement: str | None
    # Apart from involvement, which names the assignment first when a partner is both.
    case_manager: bool


@dataclass(frozen=True)
class Routed:
    view: str
    reason: str


CacheKey = tuple[str, str, str, RoutingQuestion]


class AgendaRouter:
    def __init__(self, policy: AgendaPolicy, cache_size: int = 16384) -> None:
        self._policy = policy
        self._cache_size = cache_size
        self._cache: OrderedDict[CacheKey, Routed] = OrderedDict()
        self._lock = threading.Lock()

    def route(self, covenant: str, today: str, questions: Iterable[RoutingQuestion]
              ) -> dict[RoutingQuestion, Routed]:
        bundle_hash = self._policy.bundle.hash
        answers: dict[RoutingQuestion, Routed] = {}
        missing: list[RoutingQuestion] = []
        with self._lock:
            for question in dict.fromkeys(questions):
                cached = self._cache.get((bundle_hash, covenant, today, question))
                if cached is None:
                    missing.append(question)
                else:
                    answers[question] = cached
        if missing:
            decided_with, fresh = self._ask(covenant, today, missing)
            answers.update(fresh)
            self._remember({(decided_with, covenant, today, q): r for q, r in fresh.items()})
        return answers

    def _ask(self, covenant: str, today: str, questions: list[RoutingQuestion]
             ) -> tuple[str, dict[RoutingQuestion, Routed]]:
        document = {
            "covenant": covenant,
            "today": today,
            "queries": [{"participant": q.participant, "step": q.step,
                         "involvement": q.involvement, "case_manager": q.case_manager}
                        for q in questions],
        }
        try:
            bundle_hash, result = self._policy.evaluate(AGENDA_ENTRYPOINT, document)
            routed = _checked(result, len(questions))
        except (PolicyEngineError, ValueError) as error:
            # Fail closed: no agenda is routed, published or shown on a guess.
            raise unavailable("policy-unavailable",
                              "the policy could not route the agenda; nothing was changed"
                              ) from error
        return bundle_hash, dict(zip(questions, routed, strict=True))

    def _remember(self, fresh: dict[CacheKey, Routed]) -> None:
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def _checked(result: Any, expected: int) -> list[Routed]:
    """The policy's views, or ValueError when the answer is not one view per question."""
    views = result.get("views") if isinstance(result, dict) else None
    if not isinstance(views, list) or len(views) != expected:
        raise ValueError("the agenda policy did not answer one view per question")
    routed = []
    for answer in views:
        if not isinstance(answer, dict) or answer.get("view") not in VIEWS or not isinstance(
                answer.get("reason"), str):
            raise ValueError("the agenda policy answered something that is not a view")
        routed.append(Routed(answer["view"], answer["reason"]))
    return routed
