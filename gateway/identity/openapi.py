"""OpenAPI fragment of re-identification and pseudonym translation, for gateway.openapi.

Self-contained, like the other fragments: gateway.openapi imports this module.
"""

from __future__ import annotations

from typing import Any

from gateway.identity.reidentification import MAX_REASON_LENGTH
from gateway.identity.translation import MAX_PSEUDONYM_LENGTH, MAX_PSEUDONYMS
from gateway.openapi_parts import problems

_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_ID = {"name": "reidentification_id", "in": "path", "required": True,
       "schema": {"type": "string"}}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


SCHEMAS: dict[str, Any] = {
    "ReidentificationRequest": {
        "type": "object", "required": ["pseudonym", "reason"], "additionalProperties": False,
        "properties": {
            "pseudonym": {"type": "string", "maxLength": 64,
                          "description": "A pseudonym the broker delivered to your partner."},
            "case_id": {"type": ["string", "null"], "maxLength": 36,
                        "description": "Only deliveries in this case count."},
            "reason": {"type": "string", "maxLength": MAX_REASON_LENGTH,
                       "description": "Why the identity is needed; at least "
                                      "KETENPOORT_REIDENTIFICATION_MIN_REASON_LENGTH characters, "
                                      "no BSN."},
        },
    },
    "Reidentification": {
        "type": "object",
        "description": "`identity` is present only in the one response that releases it.",
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "approved", "released", "refused"]},
            "pseudonym": {"type": "string"},
            "case_id": {"type": ["string", "null"]},
            "requires_approval": {"type": "boolean"},
            "approved_by": {"type": ["string", "null"]},
            "identity": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "The identifiers exactly as sent in the latest "
                                        "delivery of the pseudonym to the requester that the "
                                        "policy releases; never other senders' fields"},
            "audit_event_id": {"type": "string"},
        },
    },
    "PseudonymTranslationRequest": {
        "type": "object", "required": ["pseudonyms"], "additionalProperties": False,
        "properties": {"pseudonyms": {"type": "array", "minItems": 1, "maxItems": MAX_PSEUDONYMS,
                                      "items": {"type": "string", "minLength": 1,
                                                "maxLength": MAX_PSEUDONYM_LENGTH}}},
    },
    "PseudonymTranslation": {
        "type": "object",
        "properties": {
            "translations": {"type": "array", "items": {"type": "object", "properties": {
                "pseudonym": {"type": "string"}, "current": {"type": "string"}}}},
            "not_found": {"type": "array", "items": {"type": "string"}},
            "audit_event_id": {"type": "string"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/v1/reidentifications": {"post": {
        "summary": "See the identity behind one of your pseudonyms, where the policy allows",
        "description": "Scope `reidentify`. 200 releases the identity; 202 means a second "
                       "client of your partner must approve first (victims, minors); 403 names "
                       "the policy's reasons; 429 (with Retry-After) when your partner reached "
                       "its limit for the period. Every outcome is audited.",
        "security": _BEARER,
        "requestBody": _body("ReidentificationRequest"),
        "responses": {"200": _json("Reidentification", "Released"),
                      "202": _json("Reidentification", "Waiting for approval"),
                      **problems(401, 403, 422, 429)},
    }},
    "/v1/reidentifications/{reidentification_id}": {"get": {
        "summary": "A re-identification's state; its requester gets the identity once approved",
        "description": "Scope `reidentify`, same partner.",
        "security": _BEARER, "parameters": [_ID],
        "responses": {"200": _json("Reidentification", "The request"),
                      **problems(401, 403, 404)},
    }},
    "/v1/reidentifications/{reidentification_id}/approve": {"post": {
        "summary": "Approve a pending re-identification (four eyes)",
        "description": "Scope `reidentify`; another client of the requester's partner.",
        "security": _BEARER, "parameters": [_ID],
        "responses": {"200": _json("Reidentification", "Approved"),
                      **problems(401, 403, 404, 409)},
    }},
    "/v1/reidentifications/{reidentification_id}/deny": {"post": {
        "summary": "Deny a pending re-identification (four eyes)",
        "description": "Scope `reidentify`; another client of the requester's partner. The "
                       "request is refused for good and its identity never released.",
        "security": _BEARER, "parameters": [_ID],
        "responses": {"200": _json("Reidentification", "Denied"),
                      **problems(401, 403, 404, 409)},
    }},
    "/v1/pseudonyms/translate": {"post": {
        "summary": "Translate your old pseudonyms (before a key rotation) to current ones",
        "description": "Scope `inbox:read`. Only pseudonyms delivered to your partner are "
                       "translated; others are listed in `not_found`.",
        "security": _BEARER,
        "requestBody": _body("PseudonymTranslationRequest"),
        "responses": {"200": _json("PseudonymTranslation", "The translations"),
                      **problems(401, 403, 422)},
    }},
}
