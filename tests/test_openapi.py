"""The OpenAPI description covers exactly the routes the app serves, with the limits it enforces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from gateway.exchange.validation import CASE_ID_PATTERN, ID_PATTERN, MAX_SUBJECTS, REF_PATTERN
from gateway.identity.interfaces import MAX_FIELD_LENGTHS, validate_identifiers
from gateway.openapi_examples import EXAMPLES
from tests.conftest import TEST_TODAY


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_every_route_is_described_and_every_description_is_served(
    gateway_app: Flask, http: FlaskClient
) -> None:
    document = http.get("/openapi.json").json
    served = {
        (_flask_to_openapi(rule.rule), method.lower())
        for rule in gateway_app.url_map.iter_rules()
        # The workspace's pages are for people's browsers, not part of the API.
        if rule.endpoint != "static" and not rule.endpoint.startswith("workspace.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item}

    assert document["openapi"].startswith("3.1")
    assert served == described


def test_health_endpoints(http: FlaskClient) -> None:
    assert http.get("/healthz").json == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["policy"]["bundle_hash"]


BASE_IDENTIFIERS = {"family_name": "Jansen", "birth_date": "1999-04-02"}
FREE_TEXT = ("family_name", "given_names", "prefix", "nationality", "document_number", "address")


def _identifier_errors(name: str, value: str) -> list[str]:
    raw = {**BASE_IDENTIFIERS, name: value}
    return [e.pointer for e in validate_identifiers(raw, "/i", today=TEST_TODAY)]


def test_the_documented_identifier_lengths_are_the_ones_validation_enforces(
    http: FlaskClient,
) -> None:
    schema = http.get("/openapi.json").json["components"]["schemas"]["Identifiers"]
    limits = {name: spec["maxLength"] for name, spec in schema["properties"].items()}

    assert set(limits) == set(MAX_FIELD_LENGTHS)
    for name in FREE_TEXT:
        assert _identifier_errors(name, "a" * limits[name]) == [], name
        assert _identifier_errors(name, "a" * (limits[name] + 1)) == [f"/i/{name}"], name


def test_the_documented_patterns_are_the_ones_validation_enforces(http: FlaskClient) -> None:
    request = http.get("/openapi.json").json["components"]["schemas"]["ExchangeRequest"]
    properties = request["properties"]
    subject = properties["subjects"]["items"]["properties"]
    item = properties["items"]["items"]["properties"]

    assert re.compile(subject["ref"]["pattern"]) == REF_PATTERN
    for documented in (properties["covenant"], properties["purpose"], item["category"]):
        assert re.compile(documented["pattern"]) == ID_PATTERN
    assert re.compile(properties["case_id"]["pattern"]) == CASE_ID_PATTERN
    assert properties["subjects"]["maxItems"] == MAX_SUBJECTS


SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def test_every_operation_has_its_own_operation_id_and_a_described_tag(http: FlaskClient) -> None:
    document = http.get("/openapi.json").json
    operations = [op for item in document["paths"].values() for op in item.values()]
    tags = {tag["name"] for tag in document["tags"]}

    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z]+", op_id) for op_id in ids)
    assert all(len(op["tags"]) == 1 and op["tags"][0] in tags for op in operations)
    assert document["paths"]["/v1/exchanges"]["post"]["operationId"] == "exchangeSubmitExchange"


def test_every_response_names_the_api_version_the_document_has(http: FlaskClient) -> None:
    version = http.get("/openapi.json").json["info"]["version"]
    assert SEMVER.match(version)
    for response in (http.get("/healthz"), http.get("/v1/no-such-thing"),
                     http.post("/v1/exchanges", json={})):
        assert response.headers["API-Version"] == version


def test_a_wrong_method_is_a_problem_that_says_which_methods_are_allowed(
    http: FlaskClient,
) -> None:
    response = http.delete("/v1/exchanges")

    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"POST"}


def test_every_operation_documents_the_failures_of_its_kind(http: FlaskClient) -> None:
    document = http.get("/openapi.json").json
    operations = [(path, operation) for path, item in document["paths"].items()
                  for operation in item.values()]
    with_json = [o for _p, o in operations
                 if "application/json" in o.get("requestBody", {}).get("content", {})]
    secured = [o for _p, o in operations if "security" in o]
    [token] = [o for p, o in operations if p == "/oauth/token"]

    assert with_json
    assert all({"400", "413", "415"} <= o["responses"].keys() for o in with_json)
    assert all("503" in o["responses"] for o in secured)
    assert {"429", "503"} <= token["responses"].keys()


# --- examples (NL API Design Rules): one per operation, each valid against its schema ---


def _examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example the document gives."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            bodies = [("request", operation.get("requestBody", {})),
                      *operation["responses"].items()]
            for status, body in bodies:
                for media_type, media in body.get("content", {}).items():
                    if "example" in media:
                        yield (f"{method.upper()} {path} {status} {media_type}",
                               media["schema"], media["example"])


def test_the_document_is_valid_openapi_3_1(http: FlaskClient) -> None:
    validate(http.get("/openapi.json").json)


def test_every_example_validates_against_its_schema(http: FlaskClient) -> None:
    document = http.get("/openapi.json").json
    checked = 0
    for where, schema, example in _examples(document):
        # The document's components beside the schema: its "#/components/..." refs resolve.
        validator = Draft202012Validator({**schema, "components": document["components"]},
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(example)]
        assert not errors, f"{where}: {errors}"
        checked += 1
    given = sum(("request" in e) + len(e.get("responses", {})) for e in EXAMPLES.values())
    assert checked == given


def test_every_json_request_and_success_answer_has_an_example(http: FlaskClient) -> None:
    document = http.get("/openapi.json").json
    missing = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            bodies = [("request", operation.get("requestBody", {})), *(
                (status, answer) for status, answer in operation["responses"].items()
                if status.startswith("2"))]
            examples = [("example" in media) for _status, body in bodies
                        for media_type, media in body.get("content", {}).items()
                        if media_type.endswith("json") or media_type.endswith("urlencoded")]
            if examples and not any(examples):
                missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_a_wrong_example_would_be_caught(http: FlaskClient) -> None:
    """The validation above is not vacuous: an example off its schema fails it."""
    document = http.get("/openapi.json").json
    schema = document["paths"]["/v1/exchanges"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    assert not validator.is_valid({"covenant": "riec-rr-mensenhandel"})
