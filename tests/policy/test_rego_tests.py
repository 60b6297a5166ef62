"""Runs the OPA-style ``test_`` rules of every ``*_test.rego`` beside the policies, with regopy.

regopy has no test runner, so this is one: it finds test rules by their names in the source,
evaluates each against the policy modules and the demo data, and requires the value ``true``.
"""

from __future__ import annotations

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import regopy

from gateway.policy.covenants import PolicyBundle

from .conftest import POLICIES_PATH

TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
TEST_MODULES = sorted(POLICIES_PATH.rglob("*_test.rego"))


def _test_rules() -> list[tuple[Path, str]]:
    return [
        (module, name)
        for module in TEST_MODULES
        for name in dict.fromkeys(TEST_RULE.findall(module.read_text(encoding="utf-8")))
    ]


def evaluate_test_package(bundle: PolicyBundle, test_source: str) -> dict[str, object]:
    """Every rule value of the test module's package; undefined rules (failed tests) are absent.

    One query for the whole package, because regopy compiles the policies on every query.
    """
    package = PACKAGE.search(test_source)
    assert package is not None, "a test module without a package line"
    interpreter = regopy.Interpreter()
    interpreter.add_data(bundle.data)
    for name, source in bundle.modules.items():
        interpreter.add_module(name, source)
    interpreter.add_module("under_test.rego", test_source)
    output = interpreter.query(f"data.{package.group(1)}")
    assert output.ok(), str(output)
    assert output.results[0].expressions, "the test package is undefined"
    values = output.results[0].expressions[0]
    assert isinstance(values, dict)
    return values


def _holding_rules(bundle: PolicyBundle, test_source: str) -> dict[str, object]:
    """The test rules of the package that hold (their value is ``true``)."""
    values = evaluate_test_package(bundle, test_source)
    return {rule: True for rule, value in values.items() if value is True}


@pytest.fixture(scope="module")
def package_values(shipped_bundle: PolicyBundle) -> dict[Path, dict[str, object]]:
    """Like ``opa test``: the Rego tests run against the shipped data and name their own days.

    Each package is evaluated in a process of its own: regopy needs several GiB for the exchange
    policy's tests in one query and does not hand the memory back, which the rest of the suite
    (and the calendar test's second suite beside it) would otherwise have to live without.
    """
    context = multiprocessing.get_context("spawn")
    values = {}
    for module in TEST_MODULES:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            values[module] = pool.submit(_holding_rules, shipped_bundle,
                                         module.read_text(encoding="utf-8")).result()
    return values


def test_rego_tests_were_found() -> None:
    assert TEST_MODULES, "no *_test.rego under policies/"
    assert len(_test_rules()) >= 20


@pytest.mark.parametrize(
    ("module", "rule"), _test_rules(), ids=[rule for _, rule in _test_rules()]
)
def test_rego_test_rule_holds(
    package_values: dict[Path, dict[str, object]], module: Path, rule: str
) -> None:
    assert package_values[module].get(rule) is True


def test_runner_sees_a_failing_rule_as_undefined(bundle: PolicyBundle) -> None:
    source = "package runner_check\n\ntest_fails if {\n\t1 == 2\n}\n\ntest_holds if true\n"
    values = evaluate_test_package(bundle, source)
    assert "test_fails" not in values
    assert values["test_holds"] is True


@pytest.mark.parametrize("module", TEST_MODULES, ids=lambda m: m.name)
def test_rego_tests_avoid_with_input(module: Path) -> None:
    # regopy 1.5.2 segfaults on `with input as ...` over rules that call builtins, which would
    # kill the whole test run; tests mock data.ketenpoort.exchange._request instead.
    assert not re.search(r"\bwith\s+input\b", module.read_text(encoding="utf-8"))
