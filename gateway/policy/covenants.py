"""Covenants as data: load, check and bundle the ``policies/`` tree.

A :class:`PolicyBundle` is everything an engine evaluates (Rego modules plus the data document
``{"ketenpoort": {...}}``) and a hash over both, recorded with every decision so that any past
decision can be explained and replayed. Loading refuses a tree with any problem, and says where
each problem is (file and line), because a covenant that loads with a mistake in it silently
lets data flow that its signatories never agreed to.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import rfc8785
import yaml

from gateway.policy.signals import ContentSchemas, check_categories, load_signals
from gateway.ports import PartnerProfile, is_oin
from gateway.problems import FieldError

SCHEMA_PATH = Path(__file__).resolve().parent / "covenant.schema.json"
PARTNERS_FILE = "partners.yaml"
COVENANTS_DIRECTORY = "covenants"
TEST_MODULE_SUFFIX = "_test.rego"

PROCESS_STEPS = (
    "detectie",
    "dossiervorming",
    "weging_kwalificatie",
    "toewijzing_interventie",
    "uitvoering",
    "evaluatie",
)
# A partner is assigned to a case at toewijzing_interventie; before that nobody is assigned.
STEPS_WITH_ASSIGNMENT = frozenset(PROCESS_STEPS[PROCESS_STEPS.index("toewijzing_interventie") :])

PARTNERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["partners"],
    "properties": {
        "partners": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "name", "kind"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"},
                    "name": {"type": "string", "minLength": 1},
                    "kind": {"type": "string", "minLength": 1},
                    "oin": {"type": "string", "pattern": "^[0-9]{20}$"},
                    "mutual_tls": {"type": "boolean"},
                },
            },
        }
    },
}

JsonPath = tuple[str | int, ...]


class CovenantError(ValueError):
    """The policies tree has problems; ``messages`` holds one ``file:line: text`` per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class RetentionTerm:
    months: int
    counted_from: str


@dataclass(frozen=True)
class Covenant:
    """The parts of a covenant the services need, typed: input validation, retention, the
    party roles that cases, meetings and linkage review go by."""

    id: str
    version: str
    purposes: frozenset[str]
    categories: frozenset[str]
    parties: Mapping[str, str | None]  # partner id -> its role in the covenant, if any
    retention: Mapping[str, RetentionTerm]
    #: Days a case may stay at a process step before it is overdue (steps without a term absent).
    step_deadlines: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def party_role(self, partner: str) -> str | None:
        return self.parties.get(partner)

    def holders(self, role: str) -> frozenset[str]:
        """The partners holding ``role`` in this covenant."""
        return frozenset(partner for partner, held in self.parties.items() if held == role)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Covenant:
        return cls(
            id=document["id"],
            version=document["version"],
            purposes=frozenset(p["id"] for p in document["purposes"]),
            categories=frozenset(c["id"] for c in document["categories"]),
            parties={p["partner"]: p.get("role") for p in document["parties"]},
            retention={
                kind: RetentionTerm(term["months"], term["counted_from"])
                for kind, term in document["retention"].items()
            },
            step_deadlines=dict(document.get("step_deadlines", {})),
        )


@dataclass(frozen=True)
class PolicyBundle:
    """What every engine evaluates: Rego ``modules`` (path -> source), the ``data`` document
    mounted at ``data``, and their ``hash``. Build it with :meth:`load`."""

    data: dict[str, Any]
    modules: dict[str, str]
    hash: str

    @classmethod
    def load(cls, path: Path) -> PolicyBundle:
        partners, problems = _load_partners(path / PARTNERS_FILE)
        covenants: dict[str, Any] = {}
        for covenant_path in sorted((path / COVENANTS_DIRECTORY).glob("*.yaml")):
            document, covenant_problems = _load_covenant(covenant_path, frozenset(partners))
            problems.extend(covenant_problems)
            if not covenant_problems:
                covenants[document["id"]] = document
        signals, signal_problems = load_signals(path)
        # Whether a schema's category exists is only known once every covenant loaded.
        if not signal_problems and not problems:
            defined = {category["id"] for document in covenants.values()
                       for category in document["categories"]}
            problems.extend(check_categories(signals, defined))
        problems.extend(signal_problems)
        modules = _load_modules(path)
        if not modules:
            problems.append(f"{path}: no Rego modules found")
        if problems:
            raise CovenantError(problems)
        data = {
            "ketenpoort": {
                "partners": partners,
                "process_steps": list(PROCESS_STEPS),
                "covenants": covenants,
                "signals": signals,
            }
        }
        return cls(data=data, modules=modules, hash=bundle_hash(data, modules))

    @property
    def process_steps(self) -> tuple[str, ...]:
        return tuple(self.data["ketenpoort"]["process_steps"])

    def partner_ids(self) -> frozenset[str]:
        return frozenset(self.data["ketenpoort"]["partners"])

    def partner(self, partner_id: str) -> PartnerProfile | None:
        """The registered partner's OIN and connection requirements, or None."""
        entry = self.data["ketenpoort"]["partners"].get(partner_id)
        if entry is None:
            return None
        return PartnerProfile(partner_id, entry.get("oin"), entry.get("mutual_tls", False))

    def covenant(self, covenant_id: str) -> Covenant | None:
        return self._covenant_views.get(covenant_id)

    def covenants(self) -> tuple[Covenant, ...]:
        return tuple(self._covenant_views.values())

    @functools.cached_property
    def _covenant_views(self) -> dict[str, Covenant]:
        # Built once: request validation looks a covenant up on every exchange.
        documents = self.data["ketenpoort"]["covenants"]
        return {cid: Covenant.from_document(document) for cid, document in documents.items()}

    def covenant_purposes(self, covenant_id: str) -> frozenset[str] | None:
        covenant = self.covenant(covenant_id)
        return None if covenant is None else covenant.purposes

    def covenant_categories(self, covenant_id: str) -> frozenset[str] | None:
        covenant = self.covenant(covenant_id)
        return None if covenant is None else covenant.categories

    def content_problems(self, category: str, content: dict[str, Any]) -> list[FieldError]:
        """What an item's content breaks of its category's schema (see
        :mod:`gateway.policy.signals`), pointers relative to the content."""
        return self._content_schemas.problems(category, content)

    @functools.cached_property
    def _content_schemas(self) -> ContentSchemas:
        signals = self.data["ketenpoort"].get("signals", {"indicators": [], "schemas": {}})
        return ContentSchemas(signals)


def bundle_hash(data: Mapping[str, Any], modules: Mapping[str, str]) -> str:
    """SHA-256 over the RFC 8785 canonical JSON of modules and data: stable across runs."""
    canonical = rfc8785.dumps({"data": dict(data), "modules": dict(modules)})
    return hashlib.sha256(canonical).hexdigest()


def load_partner_ids(policies_path: Path) -> frozenset[str]:
    """The registered partner ids, for checking one covenant file without the whole tree."""
    partners, problems = _load_partners(policies_path / PARTNERS_FILE)
    if problems:
        raise CovenantError(problems)
    return frozenset(partners)


def check_covenant_file(path: Path, partners: Iterable[str]) -> list[str]:
    """Every problem in one covenant file, as ``file:line: text``; empty when it is sound."""
    return _load_covenant(path, frozenset(partners))[1]


def read_covenant_file(
    path: Path, partners: Iterable[str]
) -> tuple[YamlSource | None, list[str]]:
    """One covenant file with the line of every value, and its problems (none: it is sound).

    The source is ``None`` when the file cannot be read or parsed at all.
    """
    source, problems = _read_yaml(path)
    if source is None or problems:
        return source, problems
    return source, _covenant_problems(source, frozenset(partners))


class _CovenantLoader(yaml.SafeLoader):
    """Safe YAML, but dates stay strings: the schema and Rego compare ISO dates as text."""


_CovenantLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML file with the line of every value, for line-precise messages."""

    path: Path
    document: Any
    lines: dict[JsonPath, int]

    def at(self, location: JsonPath, text: str) -> str:
        while location not in self.lines and location:
            location = location[:-1]
        return f"{self.path}:{self.lines.get(location, 1)}: {text}"


def _read_yaml(path: Path) -> tuple[YamlSource | None, list[str]]:
    try:
        loader = _CovenantLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            document = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, [f"{path}:{line}: invalid YAML: {error.problem or error}"]
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"{path}: cannot read: {error}"]
    lines: dict[JsonPath, int] = {}
    problems: list[str] = []
    if node is not None:
        _index_lines(path, node, (), lines, problems)
    return YamlSource(path, document, lines), problems


def _index_lines(
    path: Path, node: yaml.Node, location: JsonPath, lines: dict[JsonPath, int], problems: list[str]
) -> None:
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(f"{path}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
            seen.add(key)
            lines[(*location, key)] = key_node.start_mark.line + 1
            _index_lines(path, value_node, (*location, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(path, item, (*location, index), lines, problems)


def _schema_problems(source: YamlSource, schema: Mapping[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(source.document), key=lambda e: list(map(str, e.path)))
    return [
        source.at(tuple(error.absolute_path), f"{_pointer(error.absolute_path)}: {error.message}")
        for error in errors
    ]


def _pointer(location: Iterable[str | int]) -> str:
    return "/" + "/".join(str(part) for part in location)


def _load_partners(path: Path) -> tuple[dict[str, Any], list[str]]:
    source, problems = _read_yaml(path)
    if source is None or problems:
        return {}, problems
    problems = _schema_problems(source, PARTNERS_SCHEMA)
    if problems:
        return {}, problems
    entries = source.document["partners"]
    problems = list(_duplicates(source, entries, "partners", "id", "partner"))
    problems.extend(_oin_problems(source, entries))
    return {entry["id"]: entry for entry in entries}, problems


def _oin_problems(source: YamlSource, entries: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """An OIN names one organisation: never two partners, and never the all-zero number."""
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        oin = entry.get("oin")
        if oin is None:
            continue
        if not is_oin(oin):
            yield source.at(("partners", index, "oin"), f"{oin!r} is not an OIN")
        elif oin in seen:
            yield source.at(("partners", index, "oin"), f"duplicate OIN {oin!r}")
        seen.add(oin)


def _load_covenant(path: Path, partners: frozenset[str]) -> tuple[dict[str, Any], list[str]]:
    source, problems = _read_yaml(path)
    if source is None or problems:
        return {}, problems
    problems = _covenant_problems(source, partners)
    return ({} if problems else source.document), problems


def _covenant_problems(source: YamlSource, partners: frozenset[str]) -> list[str]:
    # Semantic checks index into the document, so they run only on a schema-valid one.
    return _schema_problems(source, _covenant_schema()) or list(
        _semantic_problems(source, partners)
    )


@functools.cache
def _covenant_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def _semantic_problems(source: YamlSource, partners: frozenset[str]) -> Iterator[str]:
    covenant = source.document
    if covenant["id"] != source.path.stem:
        yield source.at(("id",), f"covenant id {covenant['id']!r} differs from its file name")
    if covenant["valid_from"] > covenant["valid_until"]:
        yield source.at(("valid_until",), "valid_until lies before valid_from")
    yield from _duplicates(source, covenant["parties"], "parties", "partner", "party")
    yield from _duplicates(source, covenant["purposes"], "purposes", "id", "purpose")
    yield from _duplicates(source, covenant["categories"], "categories", "id", "category")
    yield from _duplicates(source, covenant["grants"], "grants", "id", "grant")
    parties = {party["partner"] for party in covenant["parties"]}
    for index, party in enumerate(covenant["parties"]):
        if party["partner"] not in partners:
            yield source.at(
                ("parties", index), f"party {party['partner']!r} is no registered partner"
            )
    if covenant["contact_point"]["partner"] not in parties:
        yield source.at(("contact_point", "partner"), "the contact point is not a party")
    for index, category in enumerate(covenant["categories"]):
        if category["special"] is not None and not category["legal_basis"].strip():
            yield source.at(
                ("categories", index),
                f"special category {category['id']!r} ({category['special']}) has no legal basis",
            )
    for index, grant in enumerate(covenant["grants"]):
        yield from _grant_problems(source, index, grant, parties)


def _grant_problems(
    source: YamlSource, index: int, grant: Mapping[str, Any], parties: set[str]
) -> Iterator[str]:
    covenant = source.document
    categories = {category["id"] for category in covenant["categories"]}
    purposes = {purpose["id"] for purpose in covenant["purposes"]}
    name = f"grant {grant['id']!r}"
    known = {
        "providers": (parties, "is not a party, so the grant can never apply"),
        "recipients": (parties, "is not a party, so the grant can never apply"),
        "categories": (categories, "is not a category of this covenant"),
        "process_steps": (set(PROCESS_STEPS), "is not a process step"),
    }
    for key, (allowed, complaint) in known.items():
        for position, value in enumerate(grant[key]):
            if value not in allowed:
                yield source.at(("grants", index, key, position), f"{name}: {value!r} {complaint}")
    if grant["purpose"] not in purposes:
        yield source.at(
            ("grants", index, "purpose"),
            f"{name}: purpose {grant['purpose']!r} is not in the covenant",
        )
    if grant["identity"] == "identified" and "evaluatie" in grant["process_steps"]:
        yield source.at(
            ("grants", index, "identity"), f"{name}: nothing identified may flow at evaluatie"
        )
    if grant.get("requires_assignment"):
        for position, step in enumerate(grant["process_steps"]):
            if step in PROCESS_STEPS and step not in STEPS_WITH_ASSIGNMENT:
                yield source.at(
                    ("grants", index, "process_steps", position),
                    f"{name}: no partner is assigned yet at {step}, so the grant can never apply",
                )


def _duplicates(
    source: YamlSource, entries: Sequence[Mapping[str, Any]], key: str, field: str, noun: str
) -> Iterator[str]:
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry[field] in seen:
            yield source.at((key, index, field), f"duplicate {noun} {entry[field]!r}")
        seen.add(entry[field])


def _load_modules(path: Path) -> dict[str, str]:
    return {
        module.relative_to(path).as_posix(): module.read_text(encoding="utf-8")
        for module in sorted(path.rglob("*.rego"))
        if not module.name.endswith(TEST_MODULE_SUFFIX)
    }
