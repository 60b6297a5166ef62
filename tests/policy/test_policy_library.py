"""The shared Rego package ``ketenpoort.lib`` travels with the policies that import it.

It is loaded into the bundle (its tests are not), covered by the bundle hash, written into the
OPA bundle, evaluated by regopy, and followed by hot reload; a tree without it is refused.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from gateway.clock import SYSTEM_CLOCK
from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import PolicyEngineError
from gateway.policy.opa_engine import write_opa_bundle
from gateway.policy.regopy_engine import RegopyEngine
from gateway.policy.reload import ReloadingPolicyService
from tests.conftest import TEST_TODAY, policies_in_force_on

from .conftest import make_request

LIBRARY = "ketenpoort/lib/lib.rego"


def test_the_bundle_holds_the_library_without_its_tests(shipped_bundle: PolicyBundle) -> None:
    assert LIBRARY in shipped_bundle.modules
    assert "ketenpoort/lib/lib_test.rego" not in shipped_bundle.modules


def test_the_bundle_hash_covers_the_library(
    policies_copy: Path, shipped_bundle: PolicyBundle
) -> None:
    library = policies_copy / LIBRARY
    library.write_text(library.read_text() + "\n# changed\n")
    assert PolicyBundle.load(policies_copy).hash != shipped_bundle.hash


def test_the_opa_bundle_alone_decides_as_the_gateway(
    bundle: PolicyBundle, regopy_engine: RegopyEngine, tmp_path: Path
) -> None:
    tarball = tmp_path / "bundle.tar.gz"
    write_opa_bundle(bundle, tarball)
    with tarfile.open(tarball, mode="r:gz") as archive:
        files = {
            member.name.lstrip("/"): archive.extractfile(member).read().decode()  # type: ignore[union-attr]  # the writer adds regular files only
            for member in archive.getmembers()
        }
    assert files[LIBRARY] == bundle.modules[LIBRARY]
    modules = {name: source for name, source in files.items() if name.endswith(".rego")}
    from_tarball = PolicyBundle(json.loads(files["data.json"]), modules, bundle.hash)
    request = make_request().as_input()
    assert RegopyEngine(from_tarball).evaluate(request) == regopy_engine.evaluate(request)


def test_a_changed_library_takes_effect_on_the_next_decision(tmp_path: Path) -> None:
    # Covenants in force on the suite's day: the request must be allowed before the change.
    policies_copy = policies_in_force_on(TEST_TODAY, tmp_path / "policies")
    reloading = ReloadingPolicyService(policies_copy, RegopyEngine, interval_seconds=0,
                                  now=SYSTEM_CLOCK.now)
    before = reloading.decide(make_request())
    library = policies_copy / LIBRARY
    # From now on no grant names any disclosure.
    library.write_text(library.read_text().replace(
        "\tstep in grant.process_steps\n", "\tstep in grant.process_steps\n\tfalse\n"
    ))
    after = reloading.decide(make_request())
    assert (before.allowed, after.allowed) == (True, False)
    assert after.bundle_hash == PolicyBundle.load(policies_copy).hash != before.bundle_hash


def test_a_tree_without_the_library_is_refused(policies_copy: Path) -> None:
    (policies_copy / LIBRARY).unlink()
    with pytest.raises(PolicyEngineError, match="could not evaluate"):
        RegopyEngine(PolicyBundle.load(policies_copy))


def test_reload_keeps_the_last_good_bundle_when_the_library_goes(policies_copy: Path) -> None:
    reloading = ReloadingPolicyService(policies_copy, RegopyEngine, interval_seconds=0,
                                  now=SYSTEM_CLOCK.now)
    good = reloading.decide(make_request())
    (policies_copy / LIBRARY).unlink()
    assert reloading.decide(make_request()) is good
    assert reloading.reload_status()["reload_failed"]["problems"] == 1
