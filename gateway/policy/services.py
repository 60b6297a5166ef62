"""Decisions for the gateway: engine output checked, turned into :class:`Decision`, cached.

Fail closed: whatever goes wrong in or around the engine, the answer is a denial that withholds
every requested category and says why. Only real decisions are cached; a failure is retried
on the next request rather than remembered.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import (
    IDENTITY_LEVELS,
    Decision,
    DecisionRequest,
    PolicyEngine,
    PolicyEngineError,
    PolicyRevisionMismatch,
    PolicyTimeout,
    PolicyUndefined,
    Reason,
)
from gateway.policy.opa_engine import OpaEngine
from gateway.policy.regopy_engine import RegopyEngine
from gateway.problems import Problem
from gateway.settings import Settings

logger = logging.getLogger(__name__)
# How long a caller waits for a remote engine to load the published bundle.
REVISION_RETRY_SECONDS = 5

_DECISION_FIELDS = frozenset(
    {
        "allowed", "categories_delivered", "categories_withheld", "identity", "grants",
        "reasons", "covenant_version", "identities", "subject_identities",
    }
)


class MalformedResult(ValueError):
    """The engine answered, but not with a decision this service can trust."""


class PolicyService:
    """Decides per recipient; a bounded LRU cache keyed by (bundle hash, request) answers repeats.

    Keying on the bundle hash means a reloaded policy never answers from an older policy's cache.
    """

    def __init__(self, engine: PolicyEngine, cache_size: int = 4096) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must not be negative")
        self._engine = engine
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, DecisionRequest], Decision] = OrderedDict()
        self._lock = threading.Lock()

    def decide(self, request: DecisionRequest) -> Decision:
        key = (self._engine.bundle_hash, request)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        decision = self.probe(request)
        if not decision.engine_failed:
            self._remember(key, decision)
        return decision

    def probe(self, request: DecisionRequest) -> Decision:
        """The engine's decision now, never from (nor into) the cache: readiness asks whether
        the engine answers, which a remembered decision cannot tell."""
        bundle_hash = self._engine.bundle_hash
        try:
            result = self._engine.evaluate(request.as_input())
            decision = decision_from_result(request, result, bundle_hash)
        except PolicyRevisionMismatch as error:
            raise revision_unavailable(error) from error
        except PolicyTimeout as error:
            return _denial(request, bundle_hash, "engine-timeout", "did not answer in time", error)
        except (PolicyUndefined, MalformedResult) as error:
            return _denial(request, bundle_hash, "undefined-result", "gave no decision", error)
        except PolicyEngineError as error:
            return _denial(request, bundle_hash, "engine-error", "failed", error)
        return decision

    def evaluate(self, entrypoint: str, input: dict[str, Any]) -> tuple[str, Any]:
        """Another entrypoint's raw value on this bundle, with the bundle's hash.

        Raises :class:`PolicyEngineError`: a caller asking many questions in one input checks
        the answer itself and fails closed, as :meth:`decide` does for one.
        """
        try:
            return self._engine.bundle_hash, self._engine.evaluate(input, entrypoint)
        except PolicyRevisionMismatch as error:
            raise revision_unavailable(error) from error

    def _remember(self, key: tuple[str, DecisionRequest], decision: Decision) -> None:
        if self._cache_size == 0:
            return
        with self._lock:
            self._cache[key] = decision
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def revision_unavailable(error: PolicyRevisionMismatch) -> Problem:
    """Refuse to decide rather than deny: nothing is wrong with the request, retry it."""
    logger.warning("policy engine out of step with the published bundle: %s", error)
    return Problem(
        503, "policy-revision-mismatch", "Policy engine not in step",
        "the policy engine has not loaded the published policy bundle yet; nothing was "
        "decided, retry", headers={"Retry-After": str(REVISION_RETRY_SECONDS)},
    )


def _denial(
    request: DecisionRequest, bundle_hash: str, code: str, what: str, error: Exception
) -> Decision:
    # The cause may name internal hosts or paths: it goes to the log, not into the reason,
    # which travels back to the sender.
    logger.warning("policy engine %s for %s: %s", what, request, error)
    return Decision(
        recipient=request.recipient,
        allowed=False,
        categories_delivered=(),
        categories_withheld=tuple(sorted(set(request.categories))),
        identity="none",
        grants={},
        reasons=(Reason(code, f"the policy engine {what}; nothing is disclosed"),),
        covenant=request.covenant,
        covenant_version=None,
        bundle_hash=bundle_hash,
    )


def decision_from_result(request: DecisionRequest, result: Any, bundle_hash: str) -> Decision:
    """Check an engine's raw decision against the request; raise :class:`MalformedResult`.

    Beyond types, the result must be consistent with what was asked: a policy that delivers a
    category nobody requested, or allows with nothing delivered, is treated as broken.
    """
    if not isinstance(result, Mapping) or not result.keys() >= _DECISION_FIELDS:
        raise MalformedResult(f"expected an object with {sorted(_DECISION_FIELDS)}")
    delivered = _strings(result["categories_delivered"], "categories_delivered")
    withheld = _strings(result["categories_withheld"], "categories_withheld")
    grants = _grants(result["grants"])
    allowed = result["allowed"]
    if not isinstance(allowed, bool) or result["identity"] not in IDENTITY_LEVELS:
        raise MalformedResult(f"allowed must be a boolean and identity one of {IDENTITY_LEVELS}")
    version = result["covenant_version"]
    if version is not None and not isinstance(version, str):
        raise MalformedResult("covenant_version must be a string or null")
    _check_consistent(request, allowed, delivered, withheld, grants)
    identities = _levels(result["identities"], set(delivered), "identities")
    subject_identities = _levels(result["subject_identities"],
                                 {ref for ref, _ in request.subject_categories},
                                 "subject_identities")
    return Decision(
        recipient=request.recipient,
        allowed=allowed,
        categories_delivered=delivered,
        categories_withheld=withheld,
        identity=result["identity"],
        grants=grants,
        reasons=_reasons(result["reasons"]),
        covenant=request.covenant,
        covenant_version=version,
        bundle_hash=bundle_hash,
        identities=identities,
        subject_identities=subject_identities,
    )


def _levels(value: Any, allowed_keys: set[str], name: str) -> dict[str, str]:
    """An object of identity levels whose keys are among ``allowed_keys``."""
    if not isinstance(value, Mapping):
        raise MalformedResult(f"{name} must be an object")
    if not set(value) <= allowed_keys or not all(v in IDENTITY_LEVELS for v in value.values()):
        raise MalformedResult(f"{name} must map requested keys to one of {IDENTITY_LEVELS}")
    return dict(value)


def _check_consistent(
    request: DecisionRequest, allowed: bool, delivered: tuple[str, ...],
    withheld: tuple[str, ...], grants: dict[str, tuple[str, ...]],
) -> None:
    if set(delivered) | set(withheld) != set(request.categories) or set(delivered) & set(withheld):
        raise MalformedResult("delivered and withheld categories must split the requested ones")
    if allowed != bool(delivered):
        raise MalformedResult("allowed must be true exactly when some category is delivered")
    if set(grants) != set(delivered):
        raise MalformedResult("every delivered category, and only those, must name its grants")


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedResult(f"{name} must be a list of strings")
    return tuple(sorted(value))


def _grants(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise MalformedResult("grants must be an object")
    grants = {}
    for category, ids in value.items():
        if not ids:
            raise MalformedResult(f"grants of {category!r} must not be empty")
        grants[category] = _strings(ids, f"grants of {category!r}")
    return grants


def _reasons(value: Any) -> tuple[Reason, ...]:
    if not isinstance(value, list):
        raise MalformedResult("reasons must be a list")
    reasons = [_reason(item) for item in value]
    return tuple(sorted(reasons, key=lambda r: (r.code, r.category or "", r.message)))


def _reason(item: Any) -> Reason:
    if not isinstance(item, Mapping):
        raise MalformedResult("every reason must be an object")
    code, message, category = item.get("code"), item.get("message"), item.get("category")
    if not isinstance(code, str) or not isinstance(message, str):
        raise MalformedResult("every reason needs a string code and message")
    if category is not None and not isinstance(category, str):
        raise MalformedResult("a reason's category must be a string")
    return Reason(code, message, category)


def engine_for(settings: Settings, bundle: PolicyBundle) -> PolicyEngine:
    """The engine the settings choose; both evaluate the same bundle."""
    if settings.policy_engine == "opa":
        return OpaEngine(bundle, settings.opa_url, settings.opa_timeout_seconds)
    return RegopyEngine(bundle)
