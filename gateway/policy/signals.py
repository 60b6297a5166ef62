"""Signal content schemas: the Signalenlijst mensenhandel as vocabulary, a JSON Schema per category.

``policies/signals/signalenlijst.yaml`` lists the indicators a signal may name;
``policies/signals/schemas/<category>.schema.json`` is the JSON Schema (2020-12) of the content
of an item of that category. A schema refers to the vocabulary as
:data:`VOCABULARY_URI`, which resolves to ``{"enum": [every indicator id]}``, so the list is
kept once, as data. A category without a schema takes any JSON object, as before schemas.

Problems are reported in our own words with a JSON pointer into the content: a rejected
content is partner text, and echoing it would copy it into logs and problem responses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import referencing.exceptions
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from gateway.problems import FieldError

SIGNALS_DIRECTORY = "signals"
VOCABULARY_FILE = "signalenlijst.yaml"
SCHEMAS_DIRECTORY = "schemas"
SCHEMA_SUFFIX = ".schema.json"
VOCABULARY_URI = "https://ketenpoort.local/signals/signalenlijst.json"
EXPLOITATION_FORMS = ("seksuele_uitbuiting", "arbeidsuitbuiting", "criminele_uitbuiting",
                      "gedwongen_orgaanverwijdering", "onbekend")
_INDICATOR_ID = "^[a-z0-9][a-z0-9-]{0,63}$"
VOCABULARY_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["indicators"],
    "properties": {"indicators": {"type": "array", "minItems": 1, "items": {
        "type": "object", "additionalProperties": False, "required": ["id", "title", "forms"],
        "properties": {
            "id": {"type": "string", "pattern": _INDICATOR_ID},
            "title": {"type": "string", "minLength": 1},
            "forms": {"type": "array", "minItems": 1, "uniqueItems": True,
                      "items": {"enum": list(EXPLOITATION_FORMS)}}}}}},
}
# Our words for what a content breaks, by JSON Schema keyword.
_DETAILS = {
    "enum": "not an indicator of the Signalenlijst mensenhandel",
    "type": "has the wrong JSON type",
    "additionalProperties": "unknown field",
    "uniqueItems": "names an indicator twice",
    "maxItems": "too many entries",
    "maxLength": "too long",
    "pattern": "not in the expected form",
}


class SignalDefinitionError(ValueError):
    """The signals folder has problems; ``messages`` holds one ``file: text`` per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def load_signals(policies: Path) -> tuple[dict[str, Any], list[str]]:
    """``{"indicators": [...], "schemas": {category: schema}}`` from ``policies/signals``,
    and every problem found (a tree without the folder has no vocabulary and no schemas)."""
    folder = policies / SIGNALS_DIRECTORY
    if not folder.is_dir():
        return {"indicators": [], "schemas": {}}, []
    indicators, problems = _load_vocabulary(folder / VOCABULARY_FILE)
    schemas: dict[str, Any] = {}
    for path in sorted((folder / SCHEMAS_DIRECTORY).glob(f"*{SCHEMA_SUFFIX}")):
        schema, schema_problems = _load_schema(path)
        problems.extend(schema_problems)
        if not schema_problems:
            schemas[path.name.removesuffix(SCHEMA_SUFFIX)] = schema
    document = {"indicators": indicators, "schemas": schemas}
    if not problems:
        problems.extend(_reference_problems(folder, document))
    return document, problems


def check_categories(signals: Mapping[str, Any], categories: set[str]) -> list[str]:
    """Schemas for categories that no covenant defines: a misspelt file name checks nothing."""
    return [f"{SIGNALS_DIRECTORY}/{SCHEMAS_DIRECTORY}/{category}{SCHEMA_SUFFIX}: no covenant "
            f"defines category {category!r}"
            for category in sorted(set(signals["schemas"]) - categories)]


class ContentSchemas:
    """Checks item contents against their category's schema."""

    def __init__(self, signals: Mapping[str, Any]) -> None:
        registry = _registry(signals["indicators"])
        self._validators = {
            category: jsonschema.Draft202012Validator(schema, registry=registry)
            for category, schema in signals["schemas"].items()
        }

    def problems(self, category: str, content: Any) -> list[FieldError]:
        validator = self._validators.get(category)
        if validator is None:
            return []
        errors = sorted(validator.iter_errors(content), key=lambda e: list(map(str, e.path)))
        return [FieldError(_pointer(error.absolute_path),
                           _DETAILS.get(str(error.validator), "breaks the category's schema"))
                for error in errors]


def _registry(indicators: list[dict[str, Any]]) -> Registry[Any]:
    vocabulary = {"enum": [indicator["id"] for indicator in indicators]}
    registry: Registry[Any] = Registry().with_resource(
        VOCABULARY_URI, DRAFT202012.create_resource(vocabulary))
    return registry


def _load_vocabulary(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return [], [f"{path}: cannot read: {error}"]
    problems = [f"{path}: {_pointer(e.absolute_path)}: {e.message}"
                for e in jsonschema.Draft202012Validator(VOCABULARY_SCHEMA).iter_errors(document)]
    if problems:
        return [], problems
    indicators: list[dict[str, Any]] = document["indicators"]
    seen: set[str] = set()
    for indicator in indicators:
        if indicator["id"] in seen:
            problems.append(f"{path}: duplicate indicator {indicator['id']!r}")
        seen.add(indicator["id"])
    return indicators, problems


def _load_schema(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return {}, [f"{path}: cannot read: {error}"]
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        return {}, [f"{path}: not a JSON Schema (2020-12): {error.message}"]
    if not isinstance(schema, dict):
        return {}, [f"{path}: a schema must be an object"]
    return schema, []


def _reference_problems(folder: Path, signals: Mapping[str, Any]) -> Iterator[str]:
    """Every ``$ref`` must resolve: to the vocabulary or inside its own schema."""
    registry = _registry(signals["indicators"])
    for category, schema in signals["schemas"].items():
        base = str(schema.get("$id", f"urn:ketenpoort:signals:{category}"))
        resolver = registry.with_resource(base, DRAFT202012.create_resource(schema)).resolver(base)
        for reference in _references(schema):
            try:
                resolver.lookup(reference)
            except referencing.exceptions.Unresolvable:
                yield (f"{folder / SCHEMAS_DIRECTORY / (category + SCHEMA_SUFFIX)}: "
                       f"$ref {reference!r} does not resolve")


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _pointer(location: Any) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in location)
