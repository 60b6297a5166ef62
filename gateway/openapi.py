"""The OpenAPI 3.1 description of every endpoint, served at /openapi.json.

Shared components live here: ``PROBLEM`` (a problem+json response), ``BEARER`` (security),
``problems(*statuses)`` and ``string(**extra)`` helpers for fragments.

Written next to the code it describes, with every limit taken from the validation constants
(lengths, patterns, counts), so the two cannot drift; tests check that every route of the app is
described here, that every described path exists, and that the limits agree.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from flask import Blueprint, current_app
from werkzeug.routing import Map

from gateway.auditing import openapi as auditing_openapi
from gateway.auth.oauth_server import TOKEN_PATH
from gateway.cases import openapi as cases_openapi
from gateway.delivery.messages import MESSAGE_KINDS
from gateway.exchange.interfaces import (
    EXPLOITATION_FORMS,
    PROCESS_STEPS,
    ROLES_BY_KIND,
    SUBJECT_ROLES,
)
from gateway.exchange.services import MAX_IDEMPOTENCY_KEY_LENGTH
from gateway.exchange.validation import (
    CASE_ID_PATTERN,
    ID_PATTERN,
    MAX_ITEM_CONTENT_BYTES,
    MAX_ITEMS,
    MAX_RECIPIENTS,
    MAX_SUBJECTS,
    REF_PATTERN,
)
from gateway.identity import openapi as identity_openapi
from gateway.identity.interfaces import (
    CONFIDENCE_LEVELS,
    LOCATION_FIELD_LENGTHS,
    MAX_APPROXIMATE_AGE,
    MAX_FIELD_LENGTHS,
    ORGANISATION_FIELD_LENGTHS,
    SUBJECT_KINDS,
)
from gateway.linkage import openapi as linkage_openapi
from gateway.meetings import openapi as meetings_openapi
from gateway.openapi_examples import EXAMPLES
from gateway.openapi_parts import answer, problems, string
from gateway.ports import OIN_PATTERN
from gateway.rights import openapi as rights_openapi
from gateway.statistics import openapi as statistics_openapi

blueprint = Blueprint("openapi", __name__)

#: The API's version (semver, NL API Design Rules API-20): in the document's ``info.version`` and
#: in the ``API-Version`` header of every response.
API_VERSION = "1.1.0"
#: One tag per blueprint, so a partner's generated client groups operations by domain area.
TAGS = {
    "auth": "OAuth 2.0 token endpoint and keys",
    "exchange": "Exchanges: send items about persons to recipients under a covenant",
    "inbox": "The recipient's deliveries",
    "cases": "Cases of the regional case meeting",
    "meetings": "Case meetings and their agendas",
    "linkage": "Review of candidate links between persons",
    "identity": "Re-identification and pseudonym translation",
    "audit_api": "The verifiable access log",
    "statistics": "Management information: aggregates only",
    "rights": "Data-subject rights: rectification, restriction, objection",
    "health": "Liveness and readiness",
    "metrics": "Prometheus metrics for the operator",
    "openapi": "This description",
}

PROBLEM = {"$ref": "#/components/responses/Problem"}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details; `errors` points at the offending fields.",
        "properties": {
            "type": string(format="uri"), "title": string(), "status": {"type": "integer"},
            "detail": string(), "instance": string(),
            "errors": {"type": "array", "items": {
                "type": "object",
                "properties": {"pointer": string(description="JSON pointer (RFC 6901)"),
                               "detail": string()}}},
        },
        "required": ["type", "title", "status"],
    },
    "Identifiers": {
        "type": "object", "additionalProperties": False,
        "description": "A person (kind persoon): a BSN (elfproef-checked), or family_name plus "
                       "birth_date (confidence hoog). Otherwise, with confidence laag, at least "
                       "one of given_names, family_name or nickname; approximate_age is whole "
                       f"years as digits (0 to {MAX_APPROXIMATE_AGE}). A birth date or an age "
                       "alone names nobody.",
        "properties": {name: string(maxLength=length)
                       for name, length in MAX_FIELD_LENGTHS.items()},
    },
    "LocationIdentifiers": {
        "type": "object", "additionalProperties": False, "required": ["postcode", "house_number"],
        "description": "An address (kind locatie), linked across partners by postcode, house "
                       "number and addition, normalised (3011 ab and 3011AB alike). bag_id is "
                       "the BAG id (16 digits); description a part of the premises "
                       "(\"achterhuis\"). A home address is personal data: it is sealed in the "
                       "vault and shown per recipient only as a pseudonym unless identified.",
        "properties": {
            "postcode": string(pattern="^[1-9][0-9]{3} ?[A-Za-z]{2}$"),
            "house_number": string(pattern="^[1-9][0-9]{0,4}$"),
            "house_number_addition": string(pattern="^[A-Za-z0-9]{1,6}$"),
            "bag_id": string(pattern="^[0-9]{16}$"),
            "description": string(maxLength=LOCATION_FIELD_LENGTHS["description"]),
        },
    },
    "OrganisationIdentifiers": {
        "type": "object", "additionalProperties": False, "required": ["kvk_number"],
        "description": "A business (kind organisatie), linked across partners by KvK number "
                       "(eight digits, not all zeros); establishment_number is the KvK "
                       "vestigingsnummer (twelve digits).",
        "properties": {
            "kvk_number": string(pattern="^[0-9]{8}$"),
            "establishment_number": string(pattern="^[0-9]{12}$"),
            "trade_name": string(maxLength=ORGANISATION_FIELD_LENGTHS["trade_name"]),
        },
    },
    "ExchangeRequest": {
        "type": "object", "additionalProperties": False,
        "required": ["covenant", "purpose", "process_step", "recipients", "subjects", "items"],
        "properties": {
            "covenant": string(pattern=ID_PATTERN.pattern),
            "purpose": string(pattern=ID_PATTERN.pattern),
            "process_step": string(enum=list(PROCESS_STEPS)),
            "recipients": {"type": "array", "items": string(), "minItems": 1,
                           "maxItems": MAX_RECIPIENTS, "uniqueItems": True},
            "case_id": {"type": ["string", "null"], "pattern": CASE_ID_PATTERN.pattern},
            "exploitation_form": string(enum=list(EXPLOITATION_FORMS), description=(
                "The form of exploitation the signal is about; absent: onbekend. Grants may "
                "be limited to some forms (labour exploitation to the labour inspectorate).")),
            "subjects": {"type": "array", "minItems": 1, "maxItems": MAX_SUBJECTS, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["ref", "role", "identifiers"],
                "description": "A subject of one kind; roles per kind: " + "; ".join(
                    f"{kind}: {', '.join(roles)}" for kind, roles in ROLES_BY_KIND.items()),
                "properties": {"ref": string(pattern=REF_PATTERN.pattern),
                               "kind": string(enum=list(SUBJECT_KINDS),
                                              description="absent: persoon"),
                               "role": string(enum=list(SUBJECT_ROLES)),
                               "identifiers": {"anyOf": [
                                   {"$ref": "#/components/schemas/Identifiers"},
                                   {"$ref": "#/components/schemas/LocationIdentifiers"},
                                   {"$ref": "#/components/schemas/OrganisationIdentifiers"}]}}}},
            "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["category", "content"],
                "properties": {"category": string(pattern=ID_PATTERN.pattern),
                               "subject_ref": {"type": ["string", "null"]},
                               "content": {"type": "object", "description":
                                           f"at most {MAX_ITEM_CONTENT_BYTES} bytes of JSON; "
                                           "a category with a content schema (policies/"
                                           "signals) is checked against it, indicators "
                                           "against the Signalenlijst mensenhandel"}}}},
        },
    },
    "Decision": {
        "type": "object",
        "properties": {
            "recipient": string(), "allowed": {"type": "boolean"},
            "categories_delivered": {"type": "array", "items": string()},
            "categories_withheld": {"type": "array", "items": string()},
            "identity": string(enum=["none", "pseudonym", "identified"],
                               description="The strongest level a delivered category allows; "
                                           "a summary, never applied to a person"),
            "subject_identities": {
                "type": "object",
                "description": "Each delivered person's identity level, by subject ref: the most "
                               "restrictive level among the categories of the items naming them "
                               "(a person at none is delivered without even a pseudonym)",
                "additionalProperties": string(enum=["none", "pseudonym", "identified"])},
            "reasons": {"type": "array", "items": {"type": "object", "properties": {
                "code": string(), "message": string(), "category": string()}}},
            "grants": {"type": "object", "additionalProperties": {
                "type": "array", "items": string()}},
            "covenant_version": {"type": ["string", "null"]},
        },
    },
    "ExchangeResult": {
        "type": "object", "required": ["id", "decisions", "audit_event_id"],
        "properties": {"id": string(format="uuid"), "audit_event_id": string(),
                       "decisions": {"type": "array",
                                     "items": {"$ref": "#/components/schemas/Decision"}}},
    },
    "ExchangeView": {
        "type": "object",
        "required": ["id", "covenant", "purpose", "process_step", "status", "created_at",
                     "audit_event_id", "decisions"],
        "properties": {
            "id": string(format="uuid"), "covenant": string(),
            "covenant_version": {"type": ["string", "null"]}, "purpose": string(),
            "process_step": string(enum=list(PROCESS_STEPS)),
            "case_id": {"type": ["string", "null"]},
            "exploitation_form": string(enum=list(EXPLOITATION_FORMS)),
            "status": string(enum=["delivered", "refused"]),
            "created_at": string(format="date-time"), "audit_event_id": string(),
            "decisions": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}}},
    },
    "InboxMessage": {
        "type": "object",
        "description": "A typed message from the case or meeting room. It names cases by id "
                       "and persons by case-local alias, with only the recipient's own "
                       "pseudonyms; an agenda message carries the recipient's agenda view.",
        "required": ["id", "type", "created_at"],
        "properties": {
            "id": string(format="uuid"), "type": string(enum=list(MESSAGE_KINDS)),
            "title": string(description="A Dutch one-line summary"),
            "case_id": string(format="uuid"), "covenant": string(), "step": string(),
            "link": string(description="Where the workspace shows it"),
            "assignment_id": string(format="uuid"), "partner": string(),
            "intervention": string(), "priority": string(),
            "planned_start": {"type": ["string", "null"], "format": "date"},
            "planned_end": {"type": ["string", "null"], "format": "date"},
            "persons": {"type": "array", "items": {"type": "object", "properties": {
                "alias": string(), "role": string(), "pseudonym": string()}}},
            "due_at": string(format="date-time"),
            "meeting_id": string(format="uuid"), "version": {"type": "integer"},
            "agenda": {"$ref": "#/components/schemas/AgendaView"},
            "created_at": string(format="date-time"),
            "acked_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Delivery": {
        "type": "object",
        "properties": {
            "type": string(const="exchange.delivery"),
            "id": string(), "exchange_id": string(), "sender": string(),
            "sender_oin": {"type": ["string", "null"], "pattern": f"^{OIN_PATTERN.pattern}$",
                           "description": "The sender's OIN (Organisatie-identificatienummer), "
                                          "where the partner registry gives one"},
            "transaction_id": {"type": ["string", "null"], "format": "uuid"},
            "covenant": string(), "covenant_version": {"type": ["string", "null"]},
            "purpose": string(), "process_step": string(),
            "case_id": {"type": ["string", "null"], "pattern": CASE_ID_PATTERN.pattern},
            "exploitation_form": string(enum=list(EXPLOITATION_FORMS)),
            "identity": string(enum=["none", "pseudonym", "identified"],
                               description="The strongest level of a person in the delivery"),
            "subjects": {"type": "array", "items": {"type": "object", "properties": {
                "ref": string(), "kind": string(enum=list(SUBJECT_KINDS)),
                "confidence": string(enum=list(CONFIDENCE_LEVELS)),
                "role": string(), "pseudonym": string(description=(
                    "Per recipient: two recipients see different pseudonyms for the same "
                    "person, address or organisation")),
                "identity": string(enum=["pseudonym", "identified"]),
                "identifiers": {
                    "type": "object",
                    "description": "Only for a person delivered identified: the identifiers "
                                   "exactly as this exchange's sender sent them"}},
                "required": ["ref", "role", "pseudonym", "identity"]}},
            "items": {"type": "array", "items": {"type": "object"}},
            "created_at": string(format="date-time"),
            "acked_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/oauth/token": {"post": {
        "summary": "Client-credentials token (client_secret_basic or private_key_jwt)",
        "requestBody": {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                "grant_type": string(enum=["client_credentials"]), "scope": string(),
                "client_assertion_type": string(), "client_assertion": string()},
                "required": ["grant_type"]}}}},
        "responses": {
            **answer(200, "Access token: a JWT (RFC 9068) signed with Ed25519, RS256 or PS256 "
                          "(KETENPOORT_ACCESS_TOKEN_ALGORITHM), bound to the client "
                          "certificate when the request came with one (RFC 8705)",
                     {"type": "object", "required": ["access_token", "token_type", "expires_in"],
                      "properties": {"access_token": string(), "token_type": string(
                          enum=["Bearer"]), "expires_in": {"type": "integer"},
                          "scope": string()}}),
            "400": {"description": "RFC 6749 error"},
            "401": {"description": "Client authentication failed"}},
    }},
    "/.well-known/jwks.json": {"get": {
        "summary": "Public keys that sign access tokens",
        "responses": answer(200, "JWK Set: every key that verifies, the signing one first",
                            {"type": "object", "required": ["keys"], "properties": {
                                "keys": {"type": "array", "items": {
                                    "type": "object", "required": ["kty", "kid", "alg"]}}}})}},
    "/.well-known/oauth-authorization-server": {"get": {
        "summary": "RFC 8414 authorization server metadata",
        "responses": answer(200, "Metadata", {
            "type": "object", "required": ["issuer", "token_endpoint", "jwks_uri"]})}},
    "/v1/exchanges": {"post": {
        "summary": "Send items about persons to recipients under a covenant",
        "security": BEARER,
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": string(maxLength=MAX_IDEMPOTENCY_KEY_LENGTH),
                        "description": "A retry with the same key and body returns the first "
                                       "answer; the same key with another body is a 409."},
                       {"name": "Fsc-Transaction-Id", "in": "header", "required": False,
                        "schema": string(format="uuid"),
                        "description": "The FSC transaction; created when absent, answered "
                                       "on every response, kept in the audit entry and the "
                                       "deliveries. Anything but a UUID is a 400."}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ExchangeRequest"}}}},
        "responses": {
            "201": {"description": "Delivered to at least one recipient", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ExchangeResult"}}}},
            **problems(400, 401, 403, 409, 413, 415, 422),
        },
    }},
    "/v1/exchanges/{exchange_id}": {"get": {
        "summary": "The sender's own view of one of its exchanges",
        "description": "Scope `exchange:write`; any client of the sending partner. Another "
                       "partner's exchange answers 404, like one that does not exist.",
        "security": BEARER,
        "parameters": [{"name": "exchange_id", "in": "path", "required": True,
                        "schema": string(format="uuid")}],
        "responses": {
            "200": {"description": "The exchange and the decision per recipient", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ExchangeView"}}}},
            **problems(401, 403, 404),
        },
    }},
    "/v1/inbox": {"get": {
        "summary": "The caller's deliveries and messages, oldest first",
        "description": "Deliveries (`type` exchange.delivery) and typed messages: appointed "
                       "case manager, intervention offered/accepted/declined, agenda "
                       "published/changed (with the caller's agenda view), deadline passed. "
                       "The cursor is opaque.",
        "security": BEARER,
        "parameters": [
            {"name": "cursor", "in": "query", "schema": string()},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                         "maximum": 200, "default": 50}},
            {"name": "status", "in": "query", "schema": string(enum=["all", "pending"])},
        ],
        "responses": {
            "200": {"description": "A page of deliveries", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"oneOf": [
                        {"$ref": "#/components/schemas/Delivery"},
                        {"$ref": "#/components/schemas/InboxMessage"}]}},
                    "next_cursor": {"type": ["string", "null"]}}}}}},
            **problems(401, 403, 422),
        },
    }},
    "/v1/inbox/{delivery_id}/ack": {"post": {
        "summary": "Acknowledge a delivery or a message (idempotent)",
        "security": BEARER,
        "parameters": [{"name": "delivery_id", "in": "path", "required": True,
                        "schema": string()}],
        "responses": {"200": {"description": "Acknowledged"}, **problems(401, 403, 404)},
    }},
    "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "Alive"}}}},
    "/livez": {"get": {"summary": "Liveness (the Kubernetes name)",
                       "responses": {"200": {"description": "Alive"}}}},
    "/readyz": {"get": {"summary": "Readiness: database and policy engine",
                        "responses": {"200": {"description": "Ready"},
                                      "503": {"description": "Not ready, with the failed check"}}}},
    "/metrics": {"get": {
        "summary": "Prometheus metrics, for the operator (KETENPOORT_METRICS_TOKEN); no partner "
                   "token opens it",
        "security": BEARER,
        "responses": {"200": {"description": "Prometheus text format"}, **problems(401, 404)},
    }},
    "/openapi.json": {"get": {"summary": "This document",
                              "responses": {"200": {"description": "OpenAPI 3.1"}}}},
}


# Each domain package with endpoints describes them in its own ``openapi`` module (``PATHS``
# and ``SCHEMAS``); add it here when it gets an HTTP face.
FRAGMENTS: tuple[Any, ...] = (auditing_openapi, linkage_openapi, cases_openapi, meetings_openapi,
                              identity_openapi, statistics_openapi, rights_openapi)


def document(routes: Map) -> dict[str, Any]:
    """The description of the app whose URL map is ``routes``: each operation gets the
    ``operationId`` and tag of the view that serves it, so neither can drift from the code."""
    paths: dict[str, Any] = {}
    schemas = dict(SCHEMAS)
    for part in (PATHS, *(fragment.PATHS for fragment in FRAGMENTS)):
        paths.update({path: {method: dict(operation) for method, operation in item.items()}
                      for path, item in part.items()})
    for fragment in FRAGMENTS:
        schemas.update(fragment.SCHEMAS)
    paths = {path: {method: _with_example(method, path, _with_failures(path, operation))
                    for method, operation in item.items()} for path, item in paths.items()}
    _name_operations(paths, routes)
    return {
        "openapi": "3.1.0",
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "info": {"title": "Ketenpoort gateway", "version": API_VERSION,
                 "description": "Secure information sharing for the regional chain approach "
                                "against human trafficking."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Problem": {"description": "RFC 9457 problem details", "content": {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def _name_operations(paths: dict[str, Any], routes: Map) -> None:
    for rule in routes.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            operation = paths.get(path, {}).get(method.lower())
            if operation is not None:
                blueprint_name, _, view = rule.endpoint.rpartition(".")
                operation["operationId"] = _camel(f"{blueprint_name}_{view}")
                operation["tags"] = [blueprint_name]


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _with_example(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """``operation`` with its worked example (:mod:`gateway.openapi_examples`) beside the
    request body's and each answer's schema, on a copy: the fragments stay as written."""
    example = EXAMPLES.get((method, path))
    if example is None:
        return operation
    operation = copy.deepcopy(operation)
    if "request" in example:
        for media in operation["requestBody"]["content"].values():
            media["example"] = example["request"]
    for status, body in example.get("responses", {}).items():
        content = operation["responses"][status]["content"]
        media_type = next(iter(content))
        content[media_type]["example"] = body
    return operation


def _with_failures(path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """``operation`` with the answers every operation of its kind can give, whatever it does:
    a JSON body can be malformed (400), too large (413) or not JSON (415); anything that reads
    the database can find it unavailable (503); the token endpoint limits its callers (429)."""
    failures: list[int] = []
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        failures += [400, 413, 415]
    if "security" in operation or path == TOKEN_PATH:
        failures.append(503)
    if path == TOKEN_PATH:
        failures.append(429)
    responses = {**problems(*failures), **operation["responses"]}
    return {**operation, "responses": dict(sorted(responses.items()))}


@blueprint.get("/openapi.json")
def openapi_json() -> dict[str, Any]:
    return document(current_app.url_map)
