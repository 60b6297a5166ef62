"""Hot reload: the service follows the policies tree, never switches to a broken one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.clock import SYSTEM_CLOCK
from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import PolicyEngine
from gateway.policy.regopy_engine import RegopyEngine
from gateway.policy.reload import ReloadingPolicyService, tree_fingerprint

from .conftest import make_request

RIEC_FILE = Path("covenants") / "riec-rr-mensenhandel.yaml"


def set_version(policies: Path, version: str) -> None:
    path = policies / RIEC_FILE
    text = path.read_text(encoding="utf-8")
    current = next(line for line in text.splitlines() if line.startswith("version: "))
    path.write_text(text.replace(current, f'version: "{version}"'), encoding="utf-8")


class CountingBuilder:
    """Builds real regopy engines and counts them, to see when a reload compiled."""

    def __init__(self) -> None:
        self.built: list[str] = []

    def __call__(self, bundle: PolicyBundle) -> PolicyEngine:
        self.built.append(bundle.hash)
        return RegopyEngine(bundle)


@pytest.fixture
def builder() -> CountingBuilder:
    return CountingBuilder()


@pytest.fixture
def reloading(policies_copy: Path, builder: CountingBuilder) -> ReloadingPolicyService:
    return ReloadingPolicyService(policies_copy, builder, interval_seconds=0,
                                  now=SYSTEM_CLOCK.now)


def test_a_new_covenant_version_takes_effect_on_the_next_decision(
    reloading: ReloadingPolicyService, policies_copy: Path
) -> None:
    before = reloading.decide(make_request())
    set_version(policies_copy, "2026.2")
    after = reloading.decide(make_request())
    assert (before.covenant_version, after.covenant_version) == ("2026.1", "2026.2")
    assert after.bundle_hash == PolicyBundle.load(policies_copy).hash != before.bundle_hash
    assert before.covenant_version == "2026.1", "a decision already made keeps its version"
    assert reloading.bundle.covenant("riec-rr-mensenhandel").version == "2026.2"  # type: ignore[union-attr]  # the demo covenant exists


def test_decisions_cached_under_the_old_bundle_are_not_reused(
    reloading: ReloadingPolicyService, policies_copy: Path
) -> None:
    first = reloading.decide(make_request())
    assert reloading.decide(make_request()) is first
    set_version(policies_copy, "2026.2")
    assert reloading.decide(make_request()) is not first


def test_an_unchanged_tree_is_not_reloaded(
    reloading: ReloadingPolicyService, builder: CountingBuilder
) -> None:
    for _ in range(5):
        reloading.decide(make_request())
    assert len(builder.built) == 1


def test_a_touched_but_equal_tree_keeps_engine_and_cache(
    reloading: ReloadingPolicyService, builder: CountingBuilder, policies_copy: Path
) -> None:
    first = reloading.decide(make_request())
    set_version(policies_copy, "2026.1")
    assert reloading.decide(make_request()) is first
    assert len(builder.built) == 1


def test_the_tree_is_checked_at_most_once_per_interval(policies_copy: Path) -> None:
    now = [100.0]
    service = ReloadingPolicyService(
        policies_copy, RegopyEngine, interval_seconds=5, clock=lambda: now[0],
        now=SYSTEM_CLOCK.now
    )
    set_version(policies_copy, "2026.2")
    now[0] += 4.9
    assert service.decide(make_request()).covenant_version == "2026.1"
    now[0] += 0.2
    assert service.decide(make_request()).covenant_version == "2026.2"


BREAKAGES: dict[str, Callable[[Path], object]] = {
    "invalid covenant": lambda p: (p / RIEC_FILE).write_text("id: riec-rr-mensenhandel\n"),
    "unknown partner": lambda p: (p / "partners.yaml").write_text(
        "partners:\n  - {id: alleen-deze, name: A, kind: gemeente}\n"
    ),
    "Rego that does not compile": lambda p: (
        p / "ketenpoort" / "exchange" / "decision.rego"
    ).write_text("package ketenpoort.exchange\n\ndecision := {\n"),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_broken_tree_keeps_the_last_good_bundle_and_is_reported(
    reloading: ReloadingPolicyService, policies_copy: Path, breakage: Callable[[Path], object]
) -> None:
    good = reloading.decide(make_request())
    breakage(policies_copy)
    decision = reloading.decide(make_request())
    assert decision is good
    status = reloading.reload_status()
    assert status["bundle_hash"] == good.bundle_hash
    assert status["reload_failed"]["problems"] >= 1


def test_a_repaired_tree_clears_the_failure(
    reloading: ReloadingPolicyService, policies_copy: Path
) -> None:
    original = (policies_copy / RIEC_FILE).read_text(encoding="utf-8")
    (policies_copy / RIEC_FILE).write_text("id: riec-rr-mensenhandel\n")
    reloading.decide(make_request())
    (policies_copy / RIEC_FILE).write_text(original.replace('"2026.1"', '"2026.2"'))
    assert reloading.decide(make_request()).covenant_version == "2026.2"
    assert "reload_failed" not in reloading.reload_status()


def test_a_missing_tree_keeps_the_last_good_bundle(
    reloading: ReloadingPolicyService, policies_copy: Path
) -> None:
    good = reloading.decide(make_request())
    policies_copy.rename(policies_copy.with_name("elsewhere"))
    assert reloading.decide(make_request()) is good
    assert "reload_failed" in reloading.reload_status()


def test_a_broken_tree_at_start_refuses_to_start(policies_copy: Path) -> None:
    BREAKAGES["invalid covenant"](policies_copy)
    with pytest.raises(ValueError, match=r"riec-rr-mensenhandel\.yaml"):
        ReloadingPolicyService(policies_copy, RegopyEngine, interval_seconds=0,
                                  now=SYSTEM_CLOCK.now)


def test_fingerprint_sees_a_rewrite_of_equal_size(policies_copy: Path) -> None:
    before = tree_fingerprint(policies_copy)
    set_version(policies_copy, "2026.9")
    assert tree_fingerprint(policies_copy) != before


def test_deciding_threads_see_one_whole_bundle_at_a_time_while_it_reloads(
    reloading: ReloadingPolicyService, policies_copy: Path
) -> None:
    """Smoke test: 8 threads decide while the tree changes under them 20 times."""
    hashes: dict[str, str] = {}
    for version in ("2026.2", "2026.3", "2026.1"):
        set_version(policies_copy, version)
        hashes[PolicyBundle.load(policies_copy).hash] = version
    seen: list[tuple[str | None, str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def decide_until_stopped() -> None:
        request = make_request()
        while not stop.is_set():
            try:
                decision = reloading.decide(request)
            except BaseException as error:  # the test reports any, whatever it is
                errors.append(error)
                return
            seen.append((decision.covenant_version, decision.bundle_hash))

    threads = [threading.Thread(target=decide_until_stopped) for _ in range(8)]
    for thread in threads:
        thread.start()
    for change in range(20):
        version = ("2026.2", "2026.3", "2026.1")[change % 3]
        set_version(policies_copy, version)
        _wait_for_version(reloading, version)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({version for version, _ in seen}) > 1
    assert all(hashes[bundle_hash] == version for version, bundle_hash in seen)


def _wait_for_version(reloading: ReloadingPolicyService, version: str) -> None:
    # Another thread may be mid-reload when this one asks, so the switch can take a few tries.
    deadline = time.monotonic() + 30  # generous: eight deciding threads share two cores
    while reloading.decide(make_request()).covenant_version != version:
        assert time.monotonic() < deadline, f"version {version} never took effect"
