"""The embedded engine: one compiled bundle, one interpreter per thread, errors made explicit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import PolicyEngineError, PolicyUndefined
from gateway.policy.regopy_engine import RegopyEngine

from .conftest import make_request


def _bundle_with(source: str) -> PolicyBundle:
    return PolicyBundle(data={}, modules={"policy.rego": source}, hash="test")


def test_decisions_agree_across_threads(regopy_engine: RegopyEngine) -> None:
    requests = [
        make_request(provider=provider, categories=("uitbuitingssignalen", category))
        for provider in ("politie-rotterdam", "ind", "belastingdienst", "ggd-rotterdam-rijnmond")
        for category in ("strafrechtelijk", "verblijfsstatus", "financieel", "gezondheid")
    ] * 8
    expected = [regopy_engine.evaluate(r.as_input()) for r in requests]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda r: regopy_engine.evaluate(r.as_input()), requests))
    assert concurrent == expected


def test_undefined_entrypoint_raises_policy_undefined() -> None:
    engine = RegopyEngine(_bundle_with("package ketenpoort.exchange\n\ndecision := 1 if false\n"))
    with pytest.raises(PolicyUndefined):
        engine.evaluate({})


def test_policy_that_does_not_compile_is_refused_at_start() -> None:
    with pytest.raises(PolicyEngineError, match="compile"):
        RegopyEngine(_bundle_with("package ketenpoort.exchange\n\ndecision := {\n"))


def test_output_regopy_cannot_encode_raises_engine_error(regopy_engine: RegopyEngine) -> None:
    # regopy 1.5.2 leaves quotes unescaped in strings built by sprintf, so its JSON output
    # breaks; that must surface as an engine error (and so a denial), never as a crash.
    with pytest.raises(PolicyEngineError):
        regopy_engine.evaluate(make_request(covenant='riec"rr').as_input())


def test_engine_reports_its_bundle_hash(bundle: PolicyBundle, regopy_engine: RegopyEngine) -> None:
    assert regopy_engine.bundle_hash == bundle.hash
