"""The distribution declares what it imports, supports 3.11 onwards and reports its version."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from gateway.cli import main

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "audit", "adapters")


def _project() -> dict[str, object]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project, dict)
    return project


def _imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - set(PACKAGES)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


#: Extras the gateway's own code imports from (when the feature is configured).
RUNTIME_EXTRAS = ("hsm",)


def test_every_imported_distribution_is_declared() -> None:
    dependencies = _project()["dependencies"]
    extras = _project()["optional-dependencies"]
    assert isinstance(dependencies, list)
    assert isinstance(extras, dict)
    dependencies = dependencies + [spec for extra in RUNTIME_EXTRAS for spec in extras[extra]]
    declared = {_normalised(re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0])
                for spec in dependencies}
    providers = importlib.metadata.packages_distributions()

    undeclared = sorted(
        f"{module} ({', '.join(providers[module])})"
        for module in _imported_top_level_modules()
        if not {_normalised(name) for name in providers[module]} & declared
    )

    assert undeclared == []


def test_python_3_11_to_3_13_are_supported() -> None:
    supported = SpecifierSet(str(_project()["requires-python"]))

    assert [f"3.{minor}" for minor in range(10, 15) if f"3.{minor}.0" in supported] == [
        "3.11", "3.12", "3.13"]


def _locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (ROOT / "requirements.lock").read_text(),
                      flags=re.MULTILINE)
    return {_normalised(name): Version(version) for name, version in pins}


def test_the_lock_file_pins_every_declared_dependency_within_its_range() -> None:
    """requirements.lock (the image installs from it) is pip-compile's output for pyproject's
    dependencies and the runtime extras; after changing either, compile it again (README)."""
    extras = _project()["optional-dependencies"]
    dependencies = _project()["dependencies"]
    assert isinstance(extras, dict)
    assert isinstance(dependencies, list)
    locked = _locked()
    for spec in dependencies + [s for extra in RUNTIME_EXTRAS for s in extras[extra]]:
        requirement = Requirement(spec)
        name = _normalised(requirement.name)
        assert name in locked, f"{name} is declared but not in requirements.lock"
        assert locked[name] in requirement.specifier, f"{name}=={locked[name]} vs {spec}"
    declared = {_normalised(Requirement(spec).name)
                for spec in dependencies + [s for extra in RUNTIME_EXTRAS for s in extras[extra]]}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements.lock").read_text())
    direct = {_normalised(block.split("==")[0]) for block in blocks
              if "ketenpoort (pyproject.toml)" in block}
    assert direct == declared, "requirements.lock was compiled from other dependencies"


def test_the_lock_file_holds_no_test_or_benchmark_tooling() -> None:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    tooling = {_normalised(Requirement(spec).name) for extra in ("test", "bench")
               for spec in extras[extra]}
    assert tooling & set(_locked()) == set()


def test_the_command_reports_its_version() -> None:
    result = CliRunner().invoke(main, ["--version"])

    assert result.exit_code == 0
    assert result.output == f"ketenpoort {importlib.metadata.version('ketenpoort')}\n"
