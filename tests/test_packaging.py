"""The distribution declares what it imports, supports 3.11 onwards and reports its version."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner

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


def test_python_3_11_and_later_are_supported() -> None:
    assert _project()["requires-python"] == ">=3.11"


def test_the_command_reports_its_version() -> None:
    result = CliRunner().invoke(main, ["--version"])

    assert result.exit_code == 0
    assert result.output == f"ketenpoort {importlib.metadata.version('ketenpoort')}\n"
