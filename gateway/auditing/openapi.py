"""OpenAPI fragment of the audit read API (``PATHS`` and ``SCHEMAS``) for gateway.openapi.

Self-contained on purpose: :mod:`gateway.openapi` imports the fragments, so importing its
helpers from here would be circular. The references point at its shared components.
"""

from __future__ import annotations

from typing import Any

from gateway.auditing.queries import DEFAULT_LIMIT, MAX_LIMIT, MAX_TEXT_LENGTH
from gateway.identity.interfaces import IDENTIFIER_FIELDS, SUBJECT_KINDS
from gateway.openapi_parts import problems, string
from gateway.ports import OIN_PATTERN

_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_EITHER_SCOPE = "Scope `audit:read` (everything, whole) or `audit:own` (entries the caller's " \
    "partner took part in, as actor or as a recipient that received something, projected: no " \
    "audit pseudonyms, no other recipients' decisions, no bundle hash)."


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or string(maxLength=MAX_TEXT_LENGTH)}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


_B64 = string(contentEncoding="base64")

SCHEMAS: dict[str, Any] = {
    "AuditCheckpoint": {
        "type": "object",
        "description": "A signed tree head. `signature` is Ed25519 over the UTF-8 `note`.",
        "properties": {
            "origin": string(), "tree_size": {"type": "integer"}, "root_hash": _B64,
            "issued_at": string(format="date-time"), "key_id": string(), "signature": _B64,
            "note": string(),
        },
    },
    "AuditPublicKeys": {
        "type": "object",
        "properties": {"keys": {"type": "array", "items": {"type": "object", "properties": {
            "key_id": string(description="hex SHA-256 of the raw public key"),
            "algorithm": string(enum=["Ed25519"]), "public_key": _B64,
            "public_key_pem": string(), "current": {"type": "boolean"},
            "first_used_at": {"type": ["string", "null"], "format": "date-time"},
        }}}},
    },
    "AuditInclusionProof": {
        "type": "object",
        "description": "RFC 9162 inclusion proof. `entry` is the canonical JSON hashed as "
                       "leaf, for `audit:read` only (null for `audit:own`); `view` is the entry "
                       "as the caller may see it.",
        "properties": {
            "event_id": string(), "leaf_index": {"type": "integer"},
            "tree_size": {"type": "integer"}, "leaf_hash": _B64,
            "hashes": {"type": "array", "items": _B64}, "entry": {"type": ["string", "null"]},
            "view": {"type": "object"},
            "checkpoint": {"oneOf": [{"$ref": "#/components/schemas/AuditCheckpoint"},
                                     {"type": "null"}]},
        },
    },
    "AuditConsistencyProof": {
        "type": "object",
        "properties": {"first": {"type": "integer"}, "second": {"type": "integer"},
                       "hashes": {"type": "array", "items": _B64}},
    },
    "AuditEventPage": {
        "type": "object",
        "description": "A page of entries in write order; go on while `next_cursor` is set "
                       "(a page may be short, even empty, when the scan budget ran out).",
        "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "event_id": string(), "recorded_at": string(format="date-time"),
                "tree_index": {"type": ["integer", "null"]}, "entry": {"type": "object"}}}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "AuditSubjectAccessRequest": {
        "type": "object", "required": ["identifiers"], "additionalProperties": False,
        "properties": {
            "kind": string(enum=list(SUBJECT_KINDS), description=(
                "persoon (default), locatie (the resident of an address) or organisatie (a "
                "one-person business)")),
            "identifiers": {
                "type": "object", "additionalProperties": False,
                "description": "As an exchange subject's identifiers of that kind: of a person "
                               "a bsn, or a family_name and a birth_date; of a location a "
                               "postcode and house_number; of an organisation a kvk_number. "
                               "Used only to derive the audit pseudonym.",
                "properties": {name: string() for name in sorted(IDENTIFIER_FIELDS)},
            }},
    },
    "AuditSubjectAccessReport": {
        "type": "object",
        "description": "Every entry naming the person's audit pseudonym (or one of a subject "
                       "confirmed-linked to them), in write order, with what is about this "
                       "person only: other persons an entry names are counted, never named.",
        "properties": {
            "generated_at": string(format="date-time"),
            "copy": string(enum=["data-subject", "verification"]),
            "audit_pseudonym": string(),
            "linked_pseudonyms": {"type": "array", "items": string()},
            "case_ids": {"type": "array", "items": string()},
            "entry_count": {"type": "integer"},
            "checkpoint": {"type": ["object", "null"], "description": "The signed checkpoint "
                           "the proofs are against, with `public_key` (raw Ed25519, base64)."},
            "verification": {"type": ["object", "null"], "description": "What the server "
                             "verified when drawing up the report: each stored entry hashes to "
                             "its leaf and its proof leads to the root of this checkpoint, "
                             "whose signature holds.", "properties": {
                                 "verified_at": string(format="date-time"),
                                 "tree_size": {"type": "integer"}, "root_hash": string(),
                                 "key_id": string(), "issued_at": string(),
                                 "signature_verified": {"type": "boolean"},
                                 "entries_verified": {"type": "integer"},
                                 "entries_failed": {"type": "integer"},
                                 "entries_awaiting_checkpoint": {"type": "integer"}}},
            "entries": {"type": "array", "items": {"type": "object", "properties": {
                "event_id": string(), "recorded_at": string(format="date-time"),
                "tree_index": {"type": ["integer", "null"]}, "action": string(),
                "via": string(enum=["person", "case", "meeting"]),
                "proof": {"type": ["object", "null"], "properties": {
                    "leaf_index": {"type": "integer"}, "tree_size": {"type": "integer"},
                    "leaf_hash": string(), "hashes": {"type": "array", "items": string()},
                    "verified": {"type": "boolean"}}},
                "actor": {"type": ["object", "null"], "description": "Who acted: `partner` "
                          "(slug) with its `oin` where the registry gives one, `client`, "
                          "`person`; or `operator`/`system`"},
                "roles": {"type": "array", "items": string()},
                "covenant": {"type": ["string", "null"]},
                "covenant_version": {"type": ["string", "null"]},
                "purpose": {"type": ["string", "null"]},
                "process_step": {"type": ["string", "null"]},
                "case_id": {"type": ["string", "null"]},
                "meeting_id": {"type": ["string", "null"]},
                "other_persons": {"type": "integer", "description": "How many audit "
                                  "pseudonyms of other persons the entry names"},
                "categories": {"type": "array", "items": {"type": "object", "properties": {
                    "id": string(), "title": {"type": ["string", "null"]},
                    "legal_basis": {"type": ["string", "null"]}}}},
                "recipients": {"type": "array", "items": {"type": "object", "properties": {
                    "partner": string(),
                    "oin": {"type": ["string", "null"], "pattern": f"^{OIN_PATTERN.pattern}$",
                            "description": "The recipient's OIN; null in entries recorded "
                                           "before the log named OINs"},
                    "decision": {"type": ["string", "null"], "enum": ["allowed", "refused", None]},
                    "identity": {"type": ["string", "null"]},
                    "categories_delivered": {"type": "array", "items": string()},
                    "categories_withheld": {"type": "array", "items": string()},
                    "grants": {"type": "object", "additionalProperties": {
                        "type": "array", "items": string()}},
                    "reasons": {"type": "array", "items": string()}}}},
                "bundle_hash": {"type": ["string", "null"]},
                "entry": {"type": "object", "description": "The entry as recorded (the "
                          "verification copy only)"},
            }}},
        },
    },
}

PATHS: dict[str, Any] = {
    "/v1/audit/checkpoint": {"get": {
        "summary": "The latest signed checkpoint", "description": _EITHER_SCOPE,
        "security": _BEARER,
        "responses": {"200": _ok("AuditCheckpoint", "The checkpoint"),
                      **problems(401, 403, 404)},
    }},
    "/v1/audit/public-keys": {"get": {
        "summary": "The Ed25519 keys checkpoints are signed with (no authentication)",
        "security": [],
        "responses": {"200": _ok("AuditPublicKeys", "Current key first")},
    }},
    "/v1/audit/events/{event_id}/inclusion-proof": {"get": {
        "summary": "Inclusion proof of one audit event",
        "description": _EITHER_SCOPE + " The read is itself audited (`audit.proof_read`).",
        "security": _BEARER,
        "parameters": [
            {"name": "event_id", "in": "path", "required": True, "schema": string()},
            _query("tree_size", "Tree to prove against; default: the latest checkpoint",
                   type="integer", minimum=1),
        ],
        "responses": {"200": _ok("AuditInclusionProof", "The proof"),
                      **problems(401, 403, 404, 409, 422)},
    }},
    "/v1/audit/consistency-proof": {"get": {
        "summary": "Consistency proof between two tree sizes", "description": _EITHER_SCOPE,
        "security": _BEARER,
        "parameters": [
            {"name": "first", "in": "query", "required": True,
             "schema": {"type": "integer", "minimum": 0}},
            {"name": "second", "in": "query", "required": True,
             "schema": {"type": "integer", "minimum": 1}},
        ],
        "responses": {"200": _ok("AuditConsistencyProof", "The proof"),
                      **problems(401, 403, 422)},
    }},
    "/v1/audit/events": {"get": {
        "summary": "Search the audit log (privacy officer)",
        "description": _EITHER_SCOPE + " JSON or CSV (`?format=csv` or `Accept: text/csv`). "
                       "Every search is itself audited (`audit.searched`).",
        "security": _BEARER,
        "parameters": [
            _query("partner", "Entries the partner took part in (actor or recipient)"),
            _query("action", "Exact action, e.g. exchange.delivered"),
            _query("covenant", "Covenant id"),
            _query("decision", "Some recipient allowed / refused",
                   type="string", enum=["allowed", "refused"]),
            _query("from", "Inclusive; a date (Dutch calendar day) or a datetime with offset",
                   type="string"),
            _query("to", "Exclusive datetime, or a date meaning through that day",
                   type="string"),
            _query("cursor", "From the previous page's next_cursor", type="string"),
            _query("limit", "Page size", type="integer", minimum=1, maximum=MAX_LIMIT,
                   default=DEFAULT_LIMIT),
            _query("format", "Response format", type="string", enum=["json", "csv"]),
        ],
        "responses": {
            "200": {"description": "A page of entries; CSV pages link the next with `Link`",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/AuditEventPage"}},
                        "text/csv": {"schema": string()}}},
            **problems(401, 403, 422),
        },
    }},
    "/v1/audit/checkpoint/signed-note": {"get": {
        "summary": "The latest checkpoint as a C2SP signed note, for witnesses",
        "description": _EITHER_SCOPE + " The C2SP tlog-checkpoint text (origin, size, root "
                       "hash, a `time` extension line), a blank line and the Ed25519 "
                       "signature line, named by the origin; verify it with the verifier key "
                       "`ketenpoort audit public-key` prints.",
        "security": _BEARER,
        "responses": {"200": {"description": "The signed note",
                              "content": {"text/plain": {"schema": string()}}},
                      **problems(401, 403, 404)},
    }},
    "/v1/audit/events/search": {"post": {
        "summary": "Search the audit log by a person's audit pseudonym (privacy officer)",
        "description": _EITHER_SCOPE + " The filters of `GET /v1/audit/events` as a JSON "
                       "object, `pseudonym` included (`audit:read` only; `403` for "
                       "`audit:own`): a pseudonym never travels in a URL, which access logs and "
                       "browser histories keep. JSON only. Audited like every search.",
        "security": _BEARER,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {
                **{name: string() for name in ("partner", "action", "covenant", "from", "to",
                                               "pseudonym", "cursor")},
                "decision": string(enum=["allowed", "refused"]),
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                "format": string(enum=["json"]),
            },
            "example": {"pseudonym": "ap-3f9c1e", "from": "2026-11-01"}}}}},
        "responses": {
            "200": {"description": "A page of entries", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/AuditEventPage"}}}},
            **problems(400, 401, 403, 415, 422),
        },
    }},
    "/v1/audit/subject-access": {"post": {
        "summary": "Subject access request: every entry about one person (privacy officer)",
        "description": "Scope `audit:read`. The person's entries across every subject key, "
                       "vault alias and confirmed link, and those of the cases and meetings "
                       "about them; per entry the categories about this person and, per "
                       "recipient, their identity level and the grants, with the entry's "
                       "inclusion proof against the signed `checkpoint` (offline: `python -m "
                       "audit.verify --subject-access`). JSON by default; a printable HTML "
                       "report with `Accept: text/html` or `?format=html`; a Dutch PDF (the "
                       "JSON embedded) with `Accept: application/pdf` or `?format=pdf`. The "
                       "report names no other person: an entry shows what is about this "
                       "person, other persons as a count, and its leaf hash and proof, which "
                       "the server verified (`verification`). `?copy=verification` (JSON only) "
                       "is the officer's verification copy with each entry whole, as hashed. "
                       "The request is itself audited (`audit.subject_access`, or "
                       "`audit.subject_access_verification_copy`; pseudonyms only).",
        "security": _BEARER,
        "parameters": [_query("format", "Response format", type="string",
                              enum=["json", "html", "pdf"]),
                       _query("copy", "The data subject's copy (default) or the officer's "
                              "verification copy (JSON only)", type="string",
                              enum=["data-subject", "verification"])],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/AuditSubjectAccessRequest"}}}},
        "responses": {
            "200": {"description": "The report", "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/AuditSubjectAccessReport"}},
                "text/html": {"schema": string()},
                "application/pdf": {"schema": string(format="binary")}}},
            **problems(401, 403, 415, 422),
        },
    }},
}
