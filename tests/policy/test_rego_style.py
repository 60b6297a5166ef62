"""The ``opa fmt`` and Regal rules that can be checked without the OPA binary, on every .rego file.

Each problem names its Regal rule (or ``opa-fmt``, or this project's ``prefer-internal``):

* ``line-length``: at most 120 characters (Regal's default, counted as Regal counts them);
* ``opa-fmt``: indentation by tabs and no trailing whitespace, as ``opa fmt`` writes;
* ``directory-package-mismatch``: the package mirrors the folder (a test package adds ``_test``);
* ``prefer-snake-case``: rule names are snake_case;
* ``leaked-internal-reference``: no policy refers to an ``_internal`` rule of another package
  (tests may: they replace ``_request``), and nothing imports one;
* ``prefer-internal``: a policy rule that no other package's policy uses is ``_internal``, so
  ``ketenpoort.lib`` shows at a glance what the policies share;
* ``no-defined-entrypoint``, ``metadata``, ``internal-entrypoint``: every entrypoint the gateway
  queries (``ENTRYPOINTS``) is defined under a METADATA block with ``entrypoint: true``, and
  every rule so marked is one of them and public;
* ``deprecated``: no ``import rego.v1`` or ``future.keywords`` (OPA v1 needs neither) and none of
  the built-ins OPA v1 removed.

The checker reads the layout ``opa fmt`` guarantees (a rule head starts in column 0) instead of
parsing Rego, so it stays small; ``test_checker_reports_each_rule`` shows it catching each rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.policy.interfaces import ENTRYPOINTS
from tests.conftest import POLICIES_PATH

MAX_LINE_LENGTH = 120
RULE_HEAD = re.compile(r"^(?:default\s+)?([A-Za-z_]\w*)")
NOT_RULES = {"package", "import"}
SNAKE_CASE = re.compile(r"_?[a-z][a-z0-9_]*")
IMPORT = re.compile(r"^import\s+data\.([\w.]+?)(?:\s+as\s+(\w+))?\s*$")
STRING_OR_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|`[^`]*`|#.*')
DATA_REF = re.compile(r"\bdata\.([\w.]+)")
DEPRECATED = re.compile(
    r"^import\s+(rego\.v1|future\.keywords)|"
    r"\b(any|all|re_match|set_diff|cast_\w+|net\.cidr_overlap)\("
)


@dataclass(frozen=True)
class RegoModule:
    path: str  # relative to the policies folder, with forward slashes
    lines: tuple[str, ...]

    @classmethod
    def read(cls, root: Path, file: Path) -> RegoModule:
        return cls(file.relative_to(root).as_posix(), tuple(file.read_text("utf-8").splitlines()))

    @property
    def is_test(self) -> bool:
        return self.path.endswith("_test.rego")

    @property
    def package(self) -> str:
        return next(line.split()[1] for line in self.lines if line.startswith("package "))

    def code(self, index: int) -> str:
        """Line ``index`` with its strings emptied and its comment cut off."""
        return STRING_OR_COMMENT.sub(
            lambda m: "" if m.group().startswith("#") else '""', self.lines[index]
        )

    def rule_heads(self) -> Iterator[tuple[int, str]]:
        for index, line in enumerate(self.lines):
            head = RULE_HEAD.match(line)
            if head and head.group(1) not in NOT_RULES:
                yield index, head.group(1)

    def imports(self) -> dict[str, str]:
        """Alias -> imported path (``import data.ketenpoort.lib`` gives lib -> ketenpoort.lib)."""
        found = (IMPORT.match(line) for line in self.lines)
        return {m.group(2) or m.group(1).rsplit(".", 1)[-1]: m.group(1) for m in found if m}

    def annotation(self, index: int) -> list[str]:
        """The METADATA lines of the comment block right above line ``index`` (none: [])."""
        start = index
        while start > 0 and self.lines[start - 1].startswith("#"):
            start -= 1
        block = list(self.lines[start:index])
        return block[block.index("# METADATA"):] if "# METADATA" in block else []


def style_problems(modules: Sequence[RegoModule], entrypoints: Iterable[str]) -> list[str]:
    entrypoints = set(entrypoints)
    return [
        *(p for module in modules for p in _line_problems(module)),
        *(p for module in modules for p in _package_problems(module)),
        *_naming_problems(modules, entrypoints),
        *_entrypoint_problems(modules, entrypoints),
    ]


def _line_problems(module: RegoModule) -> Iterator[str]:
    for number, line in enumerate(module.lines, start=1):
        where = f"{module.path}:{number}:"
        if len(line) > MAX_LINE_LENGTH:
            yield f"{where} [line-length] {len(line)} characters, more than {MAX_LINE_LENGTH}"
        if " " in line[: len(line) - len(line.lstrip())]:
            yield f"{where} [opa-fmt] indented with spaces, not tabs"
        if line != line.rstrip():
            yield f"{where} [opa-fmt] trailing whitespace"
        if DEPRECATED.search(module.code(number - 1)):
            yield f"{where} [deprecated] not needed or not available in OPA v1"


def _package_problems(module: RegoModule) -> Iterator[str]:
    folder = module.path.rsplit("/", 1)[0].replace("/", ".") if "/" in module.path else ""
    package = module.package.removesuffix("_test") if module.is_test else module.package
    if package != folder:
        yield f"{module.path}:1: [directory-package-mismatch] package {module.package} in {folder}/"


def _references(modules: Sequence[RegoModule]) -> Iterator[tuple[RegoModule, int, str, str]]:
    """(module, line, package, rule) for every reference to a rule of another package."""
    packages = {module.package for module in modules}
    for module in modules:
        aliases = module.imports()
        for index in range(len(module.lines)):
            code = module.code(index)
            paths = [m.group(1) for m in DATA_REF.finditer(code)] + [
                f"{aliases[m.group(1)]}.{m.group(2)}"
                for m in re.finditer(r"\b(\w+)\.(\w+)", code) if m.group(1) in aliases
            ]
            for path in paths:
                parts = path.split(".")
                for cut in range(len(parts) - 1, 0, -1):
                    package = ".".join(parts[:cut])
                    if package in packages and package != module.package:
                        yield module, index, package, parts[cut]
                        break


def _naming_problems(modules: Sequence[RegoModule], entrypoints: set[str]) -> Iterator[str]:
    used_elsewhere = set()
    for module, index, package, rule in _references(modules):
        if module.is_test:
            continue
        used_elsewhere.add((package, rule))
        if rule.startswith("_"):
            yield (f"{module.path}:{index + 1}: [leaked-internal-reference] "
                   f"{package}.{rule} is internal to its package")
    for module in modules:
        first_heads = {name: index for index, name in reversed(list(module.rule_heads()))}
        for name, index in first_heads.items():
            where = f"{module.path}:{index + 1}:"
            if not SNAKE_CASE.fullmatch(name):
                yield f"{where} [prefer-snake-case] {name}"
            public = not name.startswith("_") and not module.is_test
            queried = f"{module.package.replace('.', '/')}/{name}" in entrypoints
            if public and not queried and (module.package, name) not in used_elsewhere:
                yield f"{where} [prefer-internal] {name} is used only in its package: _{name}"


def _entrypoint_problems(modules: Sequence[RegoModule], entrypoints: set[str]) -> Iterator[str]:
    policies = [module for module in modules if not module.is_test]
    defined = {
        f"{module.package.replace('.', '/')}/{name}": (module, index)
        for module in policies for index, name in module.rule_heads()
    }
    for entrypoint in sorted(entrypoints):
        if entrypoint not in defined:
            yield f"{entrypoint}: [no-defined-entrypoint] not defined by any policy"
            continue
        module, index = defined[entrypoint]
        if "# entrypoint: true" not in module.annotation(index):
            yield (f"{module.path}:{index + 1}: [metadata] entrypoint {entrypoint} has no "
                   "METADATA block with entrypoint: true")
    for name, (module, index) in defined.items():
        if "# entrypoint: true" in module.annotation(index) and name not in entrypoints:
            rule = name.rsplit("/", 1)[1]
            code = "internal-entrypoint" if rule.startswith("_") else "metadata"
            yield (f"{module.path}:{index + 1}: [{code}] {name} is marked entrypoint: true "
                   "but is no entrypoint the gateway queries")


def _shipped_modules() -> list[RegoModule]:
    return [RegoModule.read(POLICIES_PATH, f) for f in sorted(POLICIES_PATH.rglob("*.rego"))]


def test_the_policies_follow_the_style_rules() -> None:
    modules = _shipped_modules()
    assert {module.path for module in modules} >= {"ketenpoort/lib/lib.rego"}
    assert style_problems(modules, ENTRYPOINTS) == []


def test_every_policy_has_its_tests_beside_it() -> None:
    policies = [POLICIES_PATH / m.path for m in _shipped_modules() if not m.is_test]
    assert [p for p in policies if not p.with_name(f"{p.stem}_test.rego").exists()] == []


def _module(path: str, source: str) -> RegoModule:
    return RegoModule(path, tuple(source.splitlines()))


SHARED = _module("shared/shared.rego", """\
package shared

helper(x) := x

_hidden := 1
""")

BAD = _module("wrong/bad.rego", f"""\
package bad

import rego.v1
import data.shared._hidden

decision := data.shared.helper(data.shared._hidden)

# METADATA
# entrypoint: true
_internal := 1

unusedHelper := re_match("a", "a")\t

allow if {{
    true
}}

long := "{'x' * MAX_LINE_LENGTH}"
""")


def test_checker_reports_each_rule() -> None:
    problems = style_problems([SHARED, BAD], ["bad/decision", "bad/allowed"])
    assert set(re.findall(r"\[([\w-]+)\]", "\n".join(problems))) == {
        "line-length", "opa-fmt", "directory-package-mismatch", "prefer-snake-case",
        "leaked-internal-reference", "prefer-internal", "no-defined-entrypoint", "metadata",
        "internal-entrypoint", "deprecated",
    }
    assert not [problem for problem in problems if problem.startswith("shared/")]


def test_checker_names_the_line_of_each_problem() -> None:
    problems = style_problems([SHARED, BAD], ["bad/decision"])
    assert {
        "wrong/bad.rego:1: [directory-package-mismatch] package bad in wrong/",
        "wrong/bad.rego:3: [deprecated] not needed or not available in OPA v1",
        "wrong/bad.rego:4: [leaked-internal-reference] shared._hidden is internal to its package",
        "wrong/bad.rego:6: [leaked-internal-reference] shared._hidden is internal to its package",
        "wrong/bad.rego:6: [metadata] entrypoint bad/decision has no METADATA block with "
        "entrypoint: true",
        "wrong/bad.rego:10: [internal-entrypoint] bad/_internal is marked entrypoint: true but "
        "is no entrypoint the gateway queries",
        "wrong/bad.rego:12: [prefer-snake-case] unusedHelper",
        "wrong/bad.rego:12: [opa-fmt] trailing whitespace",
        "wrong/bad.rego:14: [prefer-internal] allow is used only in its package: _allow",
        "wrong/bad.rego:15: [opa-fmt] indented with spaces, not tabs",
        "wrong/bad.rego:18: [line-length] 130 characters, more than 120",
    } <= set(problems)
