"""The Signalenlijst vocabulary and the content schemas under policies/signals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.policy.covenants import CovenantError, PolicyBundle
from gateway.policy.signals import ContentSchemas, load_signals

SCHEMA = Path("signals") / "schemas" / "uitbuitingssignalen.schema.json"


def test_the_shipped_vocabulary_and_schemas_load(policies_copy: Path) -> None:
    signals, problems = load_signals(policies_copy)

    assert problems == []
    assert "geen-id-papieren" in {i["id"] for i in signals["indicators"]}
    assert set(signals["schemas"]) == {"uitbuitingssignalen"}


def test_content_problems_point_into_the_content_in_our_own_words(policies_copy: Path) -> None:
    schemas = ContentSchemas(load_signals(policies_copy)[0])

    problems = schemas.problems("uitbuitingssignalen", {
        "indicators": ["overbewoning", "Jan de Vries sliep er", "overbewoning"]})

    assert {(p.pointer, p.detail) for p in problems} == {
        ("/indicators/1", "not an indicator of the Signalenlijst mensenhandel"),
        ("/indicators", "names an indicator twice")}
    assert schemas.problems("huisvesting", {"anything": ["goes"]}) == []


def test_a_ref_that_does_not_resolve_is_a_problem(policies_copy: Path) -> None:
    path = policies_copy / SCHEMA
    schema = json.loads(path.read_text())
    schema["properties"]["indicators"]["items"] = {"$ref": "#/$defs/nowhere"}
    path.write_text(json.dumps(schema))

    problems = load_signals(policies_copy)[1]

    assert len(problems) == 1
    assert "'#/$defs/nowhere' does not resolve" in problems[0]


def test_an_invalid_schema_is_a_problem(policies_copy: Path) -> None:
    (policies_copy / SCHEMA).write_text(json.dumps({"type": "voorwerp"}))

    [problem] = load_signals(policies_copy)[1]

    assert "not a JSON Schema (2020-12)" in problem


def test_the_bundle_refuses_a_schema_for_a_category_no_covenant_defines(
    policies_copy: Path
) -> None:
    (policies_copy / SCHEMA).rename(policies_copy / "signals" / "schemas" /
                                    "uitbuitingsignalen.schema.json")

    with pytest.raises(CovenantError) as caught:
        PolicyBundle.load(policies_copy)

    assert caught.value.messages == [
        "signals/schemas/uitbuitingsignalen.schema.json: no covenant defines category "
        "'uitbuitingsignalen'"]


def test_the_vocabulary_and_schemas_are_part_of_the_bundle_hash(policies_copy: Path) -> None:
    before = PolicyBundle.load(policies_copy).hash
    vocabulary = policies_copy / "signals" / "signalenlijst.yaml"
    vocabulary.write_text(vocabulary.read_text() + "  - id: nieuw-signaal\n    title: Nieuw\n"
                                                   "    forms: [onbekend]\n")

    assert PolicyBundle.load(policies_copy).hash != before
