"""OpenAPI fragment of the subject-rights workflows and the recipients' notices."""

from __future__ import annotations

from typing import Any

from gateway.identity.interfaces import MAX_FIELD_LENGTHS
from gateway.openapi_parts import answer, json_body, path_parameters, problems, string
from gateway.rights.models import ACTIVE, LIFT_PENDING, LIFTED
from gateway.rights.services import MAX_GROUNDS_LENGTH, NOTICE_KINDS, RECTIFIABLE_FIELDS

_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_IDENTIFIERS = {"type": "object", "additionalProperties": False,
                "description": "The person: a bsn, or a family_name and a birth_date.",
                "properties": {name: string(maxLength=length)
                               for name, length in MAX_FIELD_LENGTHS.items()}}
_NO_ORACLE = ("The answer is the same whether or not the gateway knows the person; every "
              "request is audited with audit pseudonyms only.")

SCHEMAS: dict[str, Any] = {
    "Rectification": {"type": "object", "properties": {
        "id": string(), "status": string(), "fields": {"type": "array", "items": string()},
        "corrected_deliveries": {"type": "integer"},
        "notified": {"type": "array", "items": string()}, "created_at": string()}},
    "Restriction": {"type": "object", "properties": {
        "id": string(), "status": string(enum=[ACTIVE, LIFT_PENDING, LIFTED]),
        "created_at": string(), "lifted_at": {"type": ["string", "null"]}}},
    "Objection": {"type": "object", "properties": {
        "id": string(), "status": string(), "covenant": string(), "contact_point": string(),
        "created_at": string()}},
    "Notices": {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {
            "id": string(), "type": string(enum=list(NOTICE_KINDS)), "pseudonym": string(),
            "fields": {"type": "array", "items": string()},
            "identifiers": {"type": "object", "additionalProperties": string()}}}}}},
}

PATHS: dict[str, Any] = {
    "/v1/rights/rectifications": {"post": {
        "summary": "Rectify a person's identifiers your partner sent (AVG art. 16, 19)",
        "description": "Scope `rights:write`. Corrects the copies your partner's exchanges "
                       "sent (and the vault's record where it holds your partner's value) and "
                       "notifies every recipient of an old value (`subject.rectified`, under "
                       "its own pseudonym). " + _NO_ORACLE,
        "security": _BEARER,
        "requestBody": json_body({
            "identifiers": _IDENTIFIERS,
            "corrections": {"type": "object", "minProperties": 1, "additionalProperties": False,
                            "properties": {name: string(maxLength=MAX_FIELD_LENGTHS[name])
                                           for name in sorted(RECTIFIABLE_FIELDS)}},
        }, ["identifiers", "corrections"]),
        "responses": {**answer(201, "Recorded", {"$ref": "#/components/schemas/Rectification"}),
                      **problems(401, 403, 422)},
    }},
    "/v1/rights/restrictions": {"post": {
        "summary": "Restrict the processing of a person's data (AVG art. 18)",
        "description": "Scope `rights:write`. New exchanges withhold the person's subject and "
                       "items, with the reason `subject-restricted`, until lifted. " + _NO_ORACLE,
        "security": _BEARER,
        "requestBody": json_body({"identifiers": _IDENTIFIERS}, ["identifiers"]),
        "responses": {**answer(201, "In force", {"$ref": "#/components/schemas/Restriction"}),
                      **problems(401, 403, 422)},
    }},
    "/v1/rights/restrictions/{restriction_id}/lift": {"post": {
        "summary": "Lift a restriction: two officers of the partner that placed it",
        "description": "Scope `rights:write`, same partner. The first client's request answers "
                       "202 (`lift-pending`, still withholding); a second, different client "
                       "lifts it (200). Another partner's restriction is 404.",
        "security": _BEARER, "parameters": path_parameters("restriction_id"),
        "responses": {**answer(200, "Lifted", {"$ref": "#/components/schemas/Restriction"}),
                      **answer(202, "Waiting for a second officer",
                               {"$ref": "#/components/schemas/Restriction"}),
                      **problems(401, 403, 404, 409)},
    }},
    "/v1/rights/objections": {"post": {
        "summary": "Record an objection (AVG art. 21) and send it to the covenant's contact "
                   "point",
        "description": "Scope `rights:write`; your partner is a party of the covenant. "
                       + _NO_ORACLE,
        "security": _BEARER,
        "requestBody": json_body({
            "identifiers": _IDENTIFIERS, "covenant": string(maxLength=128),
            "grounds": string(minLength=1, maxLength=MAX_GROUNDS_LENGTH),
        }, ["identifiers", "covenant", "grounds"]),
        "responses": {**answer(201, "Recorded and sent",
                               {"$ref": "#/components/schemas/Objection"}),
                      **problems(401, 403, 422)},
    }},
    "/v1/inbox/notices": {"get": {
        "summary": "Rectifications and objections sent to your partner",
        "description": "Scope `inbox:read`. A rectification carries the corrected values only "
                       "where you were given the person identified; every read is audited.",
        "security": _BEARER,
        "responses": {**answer(200, "The notices", {"$ref": "#/components/schemas/Notices"}),
                      **problems(401, 403)},
    }},
}
