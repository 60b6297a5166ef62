"""OpenAPI description of the linkage endpoints (registered in ``gateway.openapi.FRAGMENTS``).

Self-contained rather than importing the shared helpers: ``gateway.openapi`` imports this module
while it is itself being imported.
"""

from __future__ import annotations

from typing import Any

from gateway.linkage.encoding import AGREEMENTS, COMPARED_FIELDS
from gateway.linkage.interfaces import DECISIONS, STATUSES
from gateway.openapi_parts import problems, string

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

SCHEMAS: dict[str, Any] = {
    "LinkageCandidate": {
        "type": "object",
        "description": "Two records that may be one person, under the reviewer's own "
                       "pseudonyms; never a name.",
        "required": ["id", "score", "status", "pseudonyms", "created_at"],
        "properties": {
            "id": string(format="uuid"),
            "score": {"type": "number", "minimum": 0, "maximum": 1,
                      "description": "Match probability from the field-by-field comparison "
                                     "of the two keyed Bloom-filter encodings"},
            "status": string(enum=list(STATUSES)),
            "pseudonyms": {"type": "array", "items": string(), "minItems": 2, "maxItems": 2},
            "created_at": string(format="date-time"),
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "features": {
                "type": "object",
                "description": "Per compared field, whether the two records agreed (never a "
                               "value); empty when a filter is gone or under an older key",
                "propertyNames": string(enum=list(COMPARED_FIELDS)),
                "additionalProperties": string(enum=list(AGREEMENTS))},
            "awaiting_second_confirmation": {
                "type": "boolean",
                "description": "Confirmed by one reviewer; a second (another client) must "
                               "confirm before the persons become one subject"},
            "too_many_look_alikes": {
                "type": "boolean",
                "description": "Proposed while one of the two had more look-alikes than intake "
                               "compares (100 per bucket, 10 pairs per person): other pairs "
                               "may be missing, so review wider than this pair"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/v1/linkage/candidates": {"get": {
        "summary": "Pending candidate matches, best first: only pairs both of whose persons "
                   "were exchanged under a covenant where the caller is regie",
        "security": BEARER,
        "parameters": [{"name": "limit", "in": "query", "schema": {
            "type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
        "responses": {
            "200": {"description": "Pending candidates", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"items": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/LinkageCandidate"}}}}}}},
            **problems(401, 403, 422),
        },
    }},
    "/v1/linkage/candidates/{candidate_id}/decision": {"post": {
        "summary": "Confirm (after a second reviewer's confirmation the persons become one "
                   "subject) or reject (never proposed again)",
        "security": BEARER,
        "parameters": [{"name": "candidate_id", "in": "path", "required": True,
                        "schema": string()}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "required": ["decision"],
            "properties": {"decision": string(enum=list(DECISIONS))}}}}},
        "responses": {
            "200": {"description": "The decided candidate", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/LinkageCandidate"}}}},
            "202": {"description": "First confirmation recorded; awaiting a second reviewer",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/LinkageCandidate"}}}},
            **problems(400, 401, 403, 404, 409, 415, 422),
        },
    }},
    "/v1/linkage/candidates/{candidate_id}/unlink": {"post": {
        "summary": "Undo a confirmed link (audited): the pair becomes rejected and the persons' "
                   "aliases are rebuilt from the links that remain",
        "security": BEARER,
        "parameters": [{"name": "candidate_id", "in": "path", "required": True,
                        "schema": string()}],
        "responses": {
            "200": {"description": "The unlinked candidate", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/LinkageCandidate"}}}},
            **problems(401, 403, 404, 409),
        },
    }},
}
