"""OpenAPI description of the case endpoints (registered in ``gateway.openapi.FRAGMENTS``).

Self-contained rather than importing the shared helpers: ``gateway.openapi`` imports this module
while it is itself being imported.
"""

from __future__ import annotations

from typing import Any

from gateway.cases.interfaces import CASE_STEPS, SUBJECT_ROLES, TRANSITIONS
from gateway.cases.services import PRIORITIES
from gateway.cases.validation import (
    MAX_INTERVENTION_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_REASON_LENGTH,
    PARTNER_PATTERN,
)
from gateway.cases.worklist import MAX_PAGE_SIZE, ROLE_FILTERS
from gateway.openapi_parts import (
    answer,
    free_text,
    json_body,
    matching,
    path_parameters,
    problems,
    string,
)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
CASE = {"$ref": "#/components/schemas/Case"}
ASSIGNMENT = {"$ref": "#/components/schemas/CaseAssignment"}
PERSON = {"type": "object", "properties": {"alias": string(), "role": string(),
                                          "pseudonym": string()}}
PLANNED = {"type": "object", "properties": {
    "id": string(format="uuid"), "partner": string(), "intervention": string(),
    "state": string(), "priority": string(),
    "planned_start": {"type": ["string", "null"], "format": "date"},
    "planned_end": {"type": ["string", "null"], "format": "date"}}}
PSEUDONYMS = {"type": "array", "minItems": 1, "maxItems": 100, "items": string(
    description="your own pseudonym of a person of the case")}
WORK_LIST_PARAMETERS = [
    {"name": "role", "in": "query", "schema": string(enum=list(ROLE_FILTERS)),
     "description": "only the cases where you hold this role"},
    {"name": "step", "in": "query", "schema": string(enum=list(CASE_STEPS))},
    {"name": "overdue", "in": "query", "schema": string(enum=["true", "false"]),
     "description": "only the cases past (or within) their current step's term"},
    {"name": "covenant", "in": "query", "schema": string(pattern=PARTNER_PATTERN.pattern)},
    {"name": "cursor", "in": "query", "schema": string(), "description": "opaque: the "
     "next_cursor of the previous page"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                "maximum": MAX_PAGE_SIZE, "default": 50}},
]
MOVES = ", ".join(f"{a}→{b} ({'/'.join(sorted(who))})" for (a, b), who in TRANSITIONS.items())


SCHEMAS: dict[str, Any] = {
    "CaseAssignment": {
        "type": "object",
        "properties": {
            "id": string(format="uuid"), "partner": string(), "intervention": string(),
            "priority": string(enum=list(PRIORITIES)),
            "state": string(enum=["offered", "accepted", "declined"]),
            "reason": {"type": ["string", "null"]},
            "offered_at": string(format="date-time"),
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "planned_start": {"type": ["string", "null"], "format": "date"},
            "planned_end": {"type": ["string", "null"], "format": "date"},
            "subjects": {"type": "array", "description": "The persons it concerns (none: the "
                         "whole case), by alias; the regie and the partner carrying it out "
                         "also see their own pseudonyms", "items": PERSON},
            "progress": {"type": "array", "items": {"type": "object", "properties": {
                "note": string(), "reported_at": string(format="date-time")}}},
        },
    },
    "Case": {
        "type": "object",
        "description": "A case as the caller may see it: subjects by case-local alias (the "
                       "regie also sees its own pseudonyms), interventions of the caller only "
                       "unless it directs the case.",
        "properties": {
            "id": string(format="uuid"), "covenant": string(),
            "step": string(enum=list(CASE_STEPS)), "regie": string(), "case_manager": string(),
            "your_roles": {"type": "array", "items": string(
                enum=["regie", "case_manager", "assigned"])},
            "allowed_moves": {"type": "array", "items": string(enum=list(CASE_STEPS))},
            "subjects": {"type": "array", "items": {"type": "object", "properties": {
                "alias": string(), "role": string(enum=list(SUBJECT_ROLES)),
                "pseudonym": string()}}},
            "assignments": {"type": "array", "items": ASSIGNMENT},
            "plan": {"type": "object", "description": "The visible interventions per person, "
                     "and those for the case as a whole", "properties": {
                         "persons": {"type": "array", "items": {"type": "object", "properties": {
                             "alias": string(), "role": string(enum=list(SUBJECT_ROLES)),
                             "interventions": {"type": "array", "items": PLANNED}}}},
                         "case": {"type": "array", "items": PLANNED}}},
            "due_at": {"type": ["string", "null"], "format": "date-time",
                       "description": "When the current step's term (covenant) ends"},
            "overdue": {"type": "boolean"},
            "signals": {"type": "array", "items": string(format="uuid")},
            "created_at": string(format="date-time"), "updated_at": string(format="date-time"),
            "closed_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
}

def _declining_needs_a_reason(body: dict[str, Any]) -> dict[str, Any]:
    """The decision body, with the services' rule that a declined intervention names why."""
    schema = body["content"]["application/json"]["schema"]
    schema["if"] = {"properties": {"accept": {"const": False}}, "required": ["accept"]}
    schema["then"] = {"required": ["reason"]}
    return body


PATHS: dict[str, Any] = {
    "/v1/cases": {"get": {
        "summary": "Work list: the caller's cases (regie, case manager or assigned), newest "
                   "first, filtered and paged",
        "description": "Only cases the caller takes part in are ever listed; filters narrow "
                       "that list. Page on with `cursor` = the previous page's next_cursor.",
        "security": BEARER,
        "parameters": WORK_LIST_PARAMETERS,
        "responses": {**answer(200, "A page of cases", {"type": "object", "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "id": string(format="uuid"), "covenant": string(),
                "step": string(enum=list(CASE_STEPS)),
                "your_roles": {"type": "array", "items": string(
                    enum=["regie", "case_manager", "assigned"])},
                "created_at": string(format="date-time"),
                "updated_at": string(format="date-time"),
                "due_at": {"type": ["string", "null"], "format": "date-time"},
                "overdue": {"type": "boolean"}}}},
            "next_cursor": {"type": ["string", "null"]}}}),
                      **problems(401, 403, 422)},
    }, "post": {
        "summary": "Create a case from received signals (the covenant's regie party only)",
        "description": "Subjects are named by the caller's own pseudonyms as they appear in "
                       "the deliveries of the linked signals; never by identifiers.",
        "security": BEARER,
        "requestBody": json_body({
            "covenant": string(),
            "signals": {"type": "array", "minItems": 1, "maxItems": 100,
                        "items": string(format="uuid", description="an exchange id")},
            "subjects": {"type": "array", "minItems": 1, "maxItems": 100, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["pseudonym", "role"],
                "properties": {"pseudonym": string(),
                               "role": string(enum=list(SUBJECT_ROLES))}}},
            "case_manager": string(description="a municipality party of the covenant"),
        }, ["covenant", "signals", "subjects", "case_manager"]),
        "responses": {**answer(201, "Created, at detectie", CASE),
                      **problems(400, 401, 403, 415, 422)},
    }},
    "/v1/cases/{case_id}": {"get": {
        "summary": "A case the caller is involved in (regie, case manager or assigned)",
        "security": BEARER,
        "parameters": path_parameters("case_id"),
        "responses": {**answer(200, "The case", CASE), **problems(401, 403, 404)},
    }},
    "/v1/cases/{case_id}/transitions": {"post": {
        "summary": "Move the case to another step",
        "description": f"Allowed moves (and who makes them): {MOVES}. uitvoering needs an "
                       "accepted intervention. A refused move is a 409 with a `reason` code.",
        "security": BEARER,
        "parameters": path_parameters("case_id"),
        "requestBody": json_body({"to": string(enum=list(CASE_STEPS)),
                                  "reason": free_text(MAX_REASON_LENGTH)}, ["to"]),
        "responses": {**answer(200, "Moved", CASE),
                      **problems(400, 401, 403, 404, 409, 415, 422)},
    }},
    "/v1/cases/{case_id}/assignments": {"post": {
        "summary": "Offer a partner an intervention (regie, at toewijzing_interventie)",
        "security": BEARER,
        "parameters": path_parameters("case_id"),
        "description": "Name the persons it concerns in `subjects` (your own pseudonyms); "
                       "without, it concerns the case as a whole.",
        "requestBody": json_body({"partner": matching(PARTNER_PATTERN),
                                  "intervention": free_text(MAX_INTERVENTION_LENGTH),
                                  "priority": string(enum=list(PRIORITIES)),
                                  "subjects": PSEUDONYMS},
                                 ["partner", "intervention"]),
        "responses": {**answer(201, "Offered", ASSIGNMENT),
                      **problems(400, 401, 403, 404, 409, 415, 422)},
    }},
    "/v1/cases/{case_id}/assignments/{assignment_id}/decision": {"post": {
        "summary": "Accept or decline an offered intervention (the assigned partner)",
        "security": BEARER,
        "parameters": path_parameters("case_id", "assignment_id"),
        "description": "Accepting, the partner sets its own priority and planned dates.",
        "requestBody": _declining_needs_a_reason(json_body(
            {"accept": {"type": "boolean"},
             "reason": free_text(MAX_REASON_LENGTH, description="required when declining"),
             "priority": string(enum=list(PRIORITIES)),
             "planned_start": string(format="date"),
             "planned_end": string(format="date")},
            ["accept"])),
        "responses": {**answer(200, "Decided", ASSIGNMENT),
                      **problems(400, 401, 403, 404, 409, 415, 422)},
    }},
    "/v1/cases/{case_id}/assignments/{assignment_id}/progress": {"post": {
        "summary": "Report progress on an accepted intervention during uitvoering",
        "security": BEARER,
        "parameters": path_parameters("case_id", "assignment_id"),
        "requestBody": json_body({"note": free_text(MAX_NOTE_LENGTH)}, ["note"]),
        "responses": {**answer(201, "Recorded", ASSIGNMENT),
                      **problems(400, 401, 403, 404, 409, 415, 422)},
    }},
}

