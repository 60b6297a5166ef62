"""OpenAPI description of the case meeting endpoints (registered in
``gateway.openapi.FRAGMENTS``).

Self-contained rather than importing the shared helpers: ``gateway.openapi`` imports this module
while it is itself being imported.
"""

from __future__ import annotations

from typing import Any

from gateway.cases.interfaces import CASE_STEPS
from gateway.cases.services import PRIORITIES
from gateway.cases.validation import (
    MAX_INTERVENTION_LENGTH,
    MAX_QUESTION_LENGTH,
    MAX_TITLE_LENGTH,
    PARTNER_PATTERN,
    UUID_PATTERN,
)
from gateway.meetings.interfaces import VIEWS
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
PUBLICATION = {"type": ["object", "null"], "description": "The new agenda version and the "
               "participants notified (only those whose view changed); null before publishing",
               "properties": {"version": {"type": "integer"},
                              "notified": {"type": "array", "items": {"type": "string"}}}}



ITEM = {"$ref": "#/components/schemas/AgendaItem"}

SCHEMAS: dict[str, Any] = {
    "AgendaItem": {
        "type": "object",
        "properties": {
            "id": string(format="uuid"), "position": {"type": "integer"},
            "case_id": string(format="uuid"), "title": string(), "question": string(),
            "proposed_decision": string(),
            "outcome": {"type": ["object", "null"], "properties": {
                "approach": string(), "assigned_partner": {"type": ["string", "null"]},
                "persons": {"type": "array", "items": string(description="an alias")}}},
            "published": PUBLICATION,
        },
    },
    "AgendaView": {
        "type": "object",
        "description": "One participant's agenda. Items hidden from it are absent and the "
                       "others are numbered among themselves. Persons appear as case-local "
                       "aliases; a full view adds the participant's own pseudonyms.",
        "properties": {
            "type": string(const="agenda.view"), "title": string(),
            "meeting_id": string(format="uuid"), "covenant": string(), "date": string(
                format="date"), "version": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "required": [
                "number", "id", "title", "view"], "properties": {
                "number": {"type": "integer"}, "id": string(format="uuid"), "title": string(),
                "view": string(enum=[v for v in VIEWS if v != "hidden"]),
                "case_id": string(format="uuid"), "step": string(enum=list(CASE_STEPS)),
                "question": string(), "proposed_decision": string(),
                "subjects": {"type": "array", "items": {"type": "object", "properties": {
                    "alias": string(), "role": string(), "pseudonym": string()}}},
                "outcome": {"type": "object"}, "case_manager": string(),
                "assigned": {"type": "array", "items": string()}}}},
        },
    },
}

PATHS: dict[str, Any] = {
    "/v1/meetings": {"get": {
        "summary": "The agendas published to the caller, newest meeting first, without items",
        "security": BEARER,
        "responses": {**answer(200, "The agendas", {"type": "object", "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "meeting_id": string(format="uuid"), "title": string(),
                "date": string(format="date"), "version": {"type": "integer"},
                "items": {"type": "integer", "description": "items visible to the caller"},
            }}}}}),
                      **problems(401, 403)},
    }, "post": {
        "summary": "Call a case meeting (the covenant's regie party)",
        "security": BEARER,
        "requestBody": json_body({
            "covenant": string(), "date": string(format="date"),
            "participants": {"type": "array", "minItems": 1, "maxItems": 50,
                             "items": string(description="a party of the covenant")},
        }, ["covenant", "date", "participants"]),
        "responses": {**answer(201, "Created, as a draft", {"type": "object"}),
                      **problems(400, 401, 403, 415, 422)},
    }},
    "/v1/meetings/{meeting_id}/items": {"post": {
        "summary": "Put a case on the agenda; after publication this publishes a new version",
        "description": "The title is shown to every participant who may know the case is "
                       "discussed: never put a name in it.",
        "security": BEARER,
        "parameters": path_parameters("meeting_id"),
        "requestBody": json_body({"case_id": matching(UUID_PATTERN, format="uuid"),
                                  "title": free_text(MAX_TITLE_LENGTH),
                                  "question": free_text(MAX_QUESTION_LENGTH),
                                  "proposed_decision": free_text(MAX_QUESTION_LENGTH)},
                                 ["case_id", "title", "question", "proposed_decision"]),
        "responses": {**answer(201, "Added", ITEM),
                      **problems(400, 401, 403, 404, 409, 415, 422)},
    }},
    "/v1/meetings/{meeting_id}/routing": {"get": {
        "summary": "Routing preview: the view of every item for every participant, and why",
        "security": BEARER,
        "parameters": path_parameters("meeting_id"),
        "responses": {**answer(200, "Participant x item -> view", {"type": "object"}),
                      **problems(401, 403, 404, 503)},
    }},
    "/v1/meetings/{meeting_id}/publish": {"post": {
        "summary": "Publish: queue each participant whose view changed its own view",
        "security": BEARER,
        "parameters": path_parameters("meeting_id"),
        "responses": {**answer(200, "Published", PUBLICATION),
                      **problems(401, 403, 404, 503)},
    }},
    "/v1/meetings/administered": {"get": {
        "summary": "The meetings the caller called as regie, newest first (at most 100)",
        "security": BEARER,
        "responses": {**answer(200, "The meetings", {"type": "object", "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "id": string(format="uuid"), "covenant": string(),
                "date": string(format="date"), "state": string(),
                "version": {"type": "integer"},
                "participants": {"type": "array", "items": string()}}}}}}),
                      **problems(401, 403)},
    }},
    "/v1/meetings/{meeting_id}/agenda": {"get": {
        "summary": "The caller's own view of the published agenda",
        "security": BEARER,
        "parameters": path_parameters("meeting_id"),
        "responses": {**answer(200, "The caller's view",
                               {"$ref": "#/components/schemas/AgendaView"}),
                      **problems(401, 403, 404)},
    }},
    "/v1/meetings/{meeting_id}/items/{item_id}/outcome": {"post": {
        "summary": "Record an item's outcome; it moves the case on",
        "description": "subjects names the persons the outcome concerns (weighing is per "
                       "person); with assigned_partner, a case at weging_kwalificatie moves to "
                       "toewijzing_interventie and the partner is offered the intervention; "
                       "move_to moves the case further by the case rules.",
        "security": BEARER,
        "parameters": path_parameters("meeting_id", "item_id"),
        "requestBody": json_body({"approach": free_text(MAX_INTERVENTION_LENGTH),
                                  "assigned_partner": matching(PARTNER_PATTERN),
                                  "intervention": free_text(MAX_INTERVENTION_LENGTH),
                                  "priority": string(enum=list(PRIORITIES)),
                                  "move_to": string(enum=list(CASE_STEPS)),
                                  "subjects": {"type": "array", "minItems": 1, "maxItems": 100,
                                               "items": string(description="your own "
                                                               "pseudonym of a person")}},
                                 ["approach"]),
        "responses": {**answer(200, "Recorded", ITEM),
                      **problems(400, 401, 403, 404, 409, 415, 422, 503)},
    }},
}
