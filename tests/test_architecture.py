"""The dependency order of the house, checked on the source: no import runs up, none forms a circle.

Each entry of ``LAYERS`` lists packages or modules of one level, from the shared kernel at the
bottom to the shells (HTTP app, CLI, background work, composition root) at the top. A module may
import its own room and anything on a lower level; the offline parts of the audit core import
nothing of the gateway at all, so an authority can verify an export on its own machine.
Function-level and ``TYPE_CHECKING`` imports count: they are dependencies all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "audit", "adapters")

#: Each room's HTTP views and CLI commands (and the guard the views share) are shells: they take
#: their services from the container, so they sit above it, whatever room they live in.
SHELL_MODULES = ("views", "cli", "guard")
ROOM_SHELLS = ("room shells",)

LAYERS: tuple[tuple[str, ...], ...] = (
    ("gateway", "gateway.clock", "gateway.problems", "gateway.ports", "adapters",
     "gateway.client_certificates"),
    ("gateway.settings", "gateway.logs", "gateway.db", "gateway.keys", "gateway.keystore",
     "gateway.fsc", "gateway.openapi_parts", "gateway.openapi_examples", "gateway.strict_json",
     "gateway.server_errors", "gateway.progress"),
    ("audit",),
    ("gateway.faults", "gateway.web"),
    ("gateway.auth",),
    ("gateway.policy",),
    ("gateway.delivery",),
    ("gateway.identity",),
    ("gateway.linkage",),
    ("gateway.exchange",),
    ("gateway.cases",),
    ("gateway.meetings",),
    ("gateway.outbox",),
    ("gateway.retention",),
    ("gateway.auditing",),
    ("gateway.backup",),
    ("gateway.statistics",),
    ("gateway.rights",),
    ("gateway.background",),
    ("gateway.observability",),
    ("gateway.workspace",),
    ("gateway.models", "gateway.openapi"),
    ("gateway.container",),
    ROOM_SHELLS,
    ("gateway.health", "gateway.background.start", "gateway.background.tasks", "gateway.app",
     "gateway.instance"),
    ("gateway.server", "gateway.cli", "gateway.db_cli", "gateway.backup_cli"),
)

#: The audit core's offline verifier and witness: the standard library and each other only.
OFFLINE_AUDIT = (
    "audit.merkle", "audit.note", "audit.canonical", "audit.interfaces", "audit.verify",
    "audit.witness",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield _module_name(path), path


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    modules = dict(_sources())
    return {
        module: {target for target in _imports(path) if target in modules and target != module}
        for module, path in modules.items()
    }


def _owner(module: str) -> str:
    """The layer entry a module belongs to (the longest matching package or module name)."""
    parts = module.split(".")
    if len(parts) == 3 and parts[0] == "gateway" and parts[2] in SHELL_MODULES:
        return ROOM_SHELLS[0]
    names = [name for layer in LAYERS for name in layer
             if module == name or (module.startswith(name + ".") and name != "gateway")]
    if not names:
        raise AssertionError(f"{module} is in no layer of tests/test_architecture.py")
    return max(names, key=len)


def _level(module: str) -> int:
    owner = _owner(module)
    return next(index for index, layer in enumerate(LAYERS) if owner in layer)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def _on_a_circle(graph: dict[str, set[str]]) -> list[str]:
    """The modules that reach themselves through their imports."""
    return sorted(module for module in graph if module in _reachable(graph, module))


def test_every_module_has_a_layer() -> None:
    for module in _graph():
        _owner(module)


def test_no_import_runs_up_the_layers() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if _level(target) > _level(module)
    )
    assert upward == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert _on_a_circle(_graph()) == []


@pytest.mark.parametrize("module", OFFLINE_AUDIT)
def test_the_offline_audit_core_imports_nothing_of_the_gateway(module: str) -> None:
    path = ROOT / (module.replace(".", "/") + ".py")
    assert {name for name in _imports(path) if not name.startswith(OFFLINE_AUDIT)} == set()


def test_the_check_sees_an_upward_import_and_a_circle() -> None:
    graph = {"gateway.ports": {"gateway.exchange.services"},
             "gateway.exchange.services": {"gateway.ports"}}
    assert _level("gateway.exchange.services") > _level("gateway.ports")
    assert _on_a_circle(graph) == ["gateway.exchange.services", "gateway.ports"]


def _constructed(path: Path) -> set[str]:
    """Names of project classes a module calls, i.e. the objects it constructs itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        and node.module.split(".")[0] in PACKAGES
        for alias in node.names
    }
    return {
        f"{imported[node.func.id]}.{node.func.id}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id in imported and node.func.id[:1].isupper()
    }


#: What the container builds, it builds alone; values and errors are not services.
SERVICE_MODULE_ROLES = ("services", "reload", "publish", "rotation", "reidentification",
                        "translation", "subject_access", "dispatcher", "runner", "broker",
                        "embedded", "envelope", "routing", "encoding")


def _services() -> set[str]:
    container = ROOT / "gateway" / "container.py"
    return {name for name in _constructed(container)
            if name.rsplit(".", 2)[-2] in SERVICE_MODULE_ROLES}


def test_the_container_is_the_only_place_that_constructs_services() -> None:
    services = _services()
    assert len(services) > 20  # the check itself sees what the container builds
    elsewhere = sorted(
        f"{module} constructs {name}"
        for module, path in _sources()
        if module != "gateway.container"
        for name in _constructed(path) & services
        if _owner(module) == ROOM_SHELLS[0] or _owner(name.rsplit(".", 1)[0]) != _owner(module)
    )
    assert elsewhere == []


def test_the_log_core_uses_only_the_gateways_database_helpers() -> None:
    used = {target for module, targets in _graph().items() if module.startswith("audit")
            for target in targets if target.startswith("gateway")}
    assert used == {"gateway.db"}
