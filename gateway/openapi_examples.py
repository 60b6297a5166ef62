"""One worked example per operation, for the OpenAPI document (NL API Design Rules).

Each operation's request body and success answer get a realistic example, on the demo region's
partners; :func:`gateway.openapi.document` puts them beside their schemas, and
tests/test_openapi.py validates every one of them against its schema, so an example cannot
drift from what the API accepts and answers. The values are made up: pseudonyms, ids and
hashes have the right form and mean nothing.
"""

from __future__ import annotations

from typing import Any

EXCHANGE_ID = "0b6f3c52-8d0e-4c8e-9a43-1f6f0c9f2e71"
CASE_ID = "5d3e1a90-7c2b-4f4e-8a1d-9b6c2e0f4a13"
MEETING_ID = "8a1f2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
ITEM_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
ASSIGNMENT_ID = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
CANDIDATE_ID = "3f4a5b6c-7d8e-4f90-a1b2-c3d4e5f6a7b8"
DELIVERY_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
TRANSACTION_ID = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
EVENT_ID = "ae-2f7c9d1e4b3a"
PSEUDONYM = "PSN1-K7QXM-2RTFA-9ZLWB-4HCNE-6PUYD"
OTHER_PSEUDONYM = "PSN1-B3NVX-8QKDR-1MTHS-5WJFZ-7CGLA"
MOMENT = "2026-11-04T09:12:44+00:00"
LATER = "2026-11-04T10:03:17+00:00"
HASH = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
SIGNATURE = ("3q2+7zq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ"
             "q83vEjRWeA==")
RIEC = "riec-rotterdam-rijnmond"
VLAARDINGEN = "gemeente-vlaardingen"
VLAARDINGEN_OIN = "99999999000000001000"  # the demo registry's made-up OIN
POLITIE = "politie-rotterdam"
COVENANT = "riec-rr-mensenhandel"
PURPOSE = "ketenaanpak-mensenhandel"

_DECISION = {
    "recipient": RIEC, "allowed": True, "categories_delivered": ["signaal"],
    "categories_withheld": [], "identity": "pseudonym",
    "subject_identities": {"p1": "pseudonym"}, "reasons": [],
    "grants": {"signaal": ["riec-signalen"]}, "covenant_version": "2026.1",
}
_CHECKPOINT = {
    "origin": "ketenpoort.example/audit", "tree_size": 1842, "root_hash": HASH,
    "issued_at": MOMENT, "key_id": "4f1c0e" + "0" * 58, "signature": SIGNATURE,
    "note": f"ketenpoort.example/audit\n1842\n{HASH}\n",
}
_ASSIGNMENT = {
    "id": ASSIGNMENT_ID, "partner": POLITIE, "intervention": "Controle in het pand",
    "priority": "hoog", "state": "accepted", "reason": None, "offered_at": MOMENT,
    "decided_at": LATER, "progress": [{"note": "Controle uitgevoerd", "reported_at": LATER}],
}
_CASE = {
    "id": CASE_ID, "covenant": COVENANT, "step": "weging_kwalificatie", "regie": RIEC,
    "case_manager": VLAARDINGEN, "your_roles": ["regie"],
    "allowed_moves": ["dossiervorming", "toewijzing_interventie", "gesloten"],
    "subjects": [{"alias": "A", "role": "slachtoffer", "pseudonym": PSEUDONYM}],
    "assignments": [], "signals": [EXCHANGE_ID], "created_at": MOMENT, "updated_at": LATER,
    "closed_at": None,
}
_AGENDA_ITEM = {
    "id": ITEM_ID, "position": 1, "case_id": CASE_ID, "title": "Casus Schiedam-Noord",
    "question": "Welke partner pakt de controle op?",
    "proposed_decision": "Politie voert een controle uit", "outcome": None, "published": None,
}
_CANDIDATE = {
    "id": CANDIDATE_ID, "score": 0.93, "status": "pending",
    "pseudonyms": [PSEUDONYM, OTHER_PSEUDONYM], "created_at": MOMENT, "decided_at": None,
    "features": {"family": "agreed", "given": "partly", "day-month": "agreed",
                 "year": "agreed"},
    "awaiting_second_confirmation": False, "too_many_look_alikes": False,
}
_REIDENTIFICATION = {
    "id": "c0ffee00-1234-4abc-8def-0123456789ab", "status": "pending", "pseudonym": PSEUDONYM,
    "case_id": CASE_ID, "requires_approval": True, "approved_by": None,
    "audit_event_id": EVENT_ID,
}
_AUDIT_ENTRY = {"action": "exchange", "actor": {"partner": VLAARDINGEN, "client": "c-1",
                                                 "oin": VLAARDINGEN_OIN},
                "covenant": COVENANT, "process_step": "detectie"}

#: (method, path) -> {"request": example body, "responses": {status: example body}}.
RIGHTS_REQUEST_ID = "4b5c6d7e-8f90-4a1b-9c2d-3e4f5a6b7c8d"
_RESTRICTION = {"id": RIGHTS_REQUEST_ID, "status": "active", "created_at": MOMENT,
                "lifted_at": None}

EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/oauth/token"): {
        "request": {"grant_type": "client_credentials", "scope": "exchange:write inbox:read"},
        "responses": {"200": {"access_token": "eyJhbGciOiJFZDI1NTE5IiwidHlwIjoiYXQrand0In0."
                                              "eyJzdWIiOiJjLTEifQ.c2lnbmF0dXJl",
                              "token_type": "Bearer", "expires_in": 900,
                              "scope": "exchange:write inbox:read"}},
    },
    ("get", "/.well-known/jwks.json"): {"responses": {"200": {"keys": [{
        "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "use": "sig",
        "alg": "Ed25519"}]}}},
    ("get", "/.well-known/oauth-authorization-server"): {"responses": {"200": {
        "issuer": "https://ketenpoort.example",
        "token_endpoint": "https://ketenpoort.example/oauth/token",
        "jwks_uri": "https://ketenpoort.example/.well-known/jwks.json",
        "scopes_supported": ["exchange:write", "inbox:read"],
        "response_types_supported": [], "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256",
                                                             "Ed25519", "EdDSA"],
        "tls_client_certificate_bound_access_tokens": True}}},
    ("post", "/v1/exchanges"): {
        "request": {
            "covenant": COVENANT, "purpose": PURPOSE, "process_step": "detectie",
            "recipients": [RIEC],
            "subjects": [{"ref": "p1", "role": "slachtoffer",
                          "identifiers": {"bsn": "111222333"}}],
            "items": [{"category": "signaal", "subject_ref": "p1",
                       "content": {"omschrijving": "Signaal van uitbuiting in de horeca"}}],
        },
        "responses": {"201": {"id": EXCHANGE_ID, "audit_event_id": EVENT_ID,
                              "decisions": [_DECISION]}},
    },
    ("get", "/v1/exchanges/{exchange_id}"): {"responses": {"200": {
        "id": EXCHANGE_ID, "covenant": COVENANT, "covenant_version": "2026.1",
        "purpose": PURPOSE, "process_step": "detectie", "case_id": None, "status": "delivered",
        "created_at": MOMENT, "audit_event_id": EVENT_ID, "decisions": [_DECISION]}}},
    ("get", "/v1/inbox"): {"responses": {"200": {"items": [{
        "id": DELIVERY_ID, "exchange_id": EXCHANGE_ID, "sender": VLAARDINGEN,
        "sender_oin": VLAARDINGEN_OIN, "transaction_id": TRANSACTION_ID,
        "covenant": COVENANT, "covenant_version": "2026.1", "purpose": PURPOSE,
        "process_step": "detectie", "case_id": None, "identity": "pseudonym",
        "subjects": [{"ref": "p1", "role": "slachtoffer", "pseudonym": PSEUDONYM,
                      "identity": "pseudonym"}],
        "items": [{"category": "signaal", "subject_ref": "p1",
                   "content": {"omschrijving": "Signaal van uitbuiting in de horeca"}}],
        "created_at": MOMENT, "acked_at": None}], "next_cursor": None}}},
    ("get", "/v1/audit/checkpoint"): {"responses": {"200": _CHECKPOINT}},
    ("get", "/v1/audit/checkpoint/signed-note"): {"responses": {"200": (
        f"ketenpoort.example/audit\n1842\n{HASH}\n\n"
        f"\u2014 ketenpoort.example/audit {SIGNATURE[:40]}\n")}},
    ("get", "/v1/audit/public-keys"): {"responses": {"200": {"keys": [{
        "key_id": "4f1c0e" + "0" * 58, "algorithm": "Ed25519",
        "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "public_key_pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg"
                          "7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n",
        "current": True, "first_used_at": MOMENT}]}}},
    ("get", "/v1/audit/events/{event_id}/inclusion-proof"): {"responses": {"200": {
        "event_id": EVENT_ID, "leaf_index": 1841, "tree_size": 1842, "leaf_hash": HASH,
        "hashes": [HASH, HASH], "entry": None, "view": _AUDIT_ENTRY,
        "checkpoint": _CHECKPOINT}}},
    ("get", "/v1/audit/consistency-proof"): {"responses": {"200": {
        "first": 1500, "second": 1842, "hashes": [HASH, HASH, HASH]}}},
    ("get", "/v1/audit/events"): {"responses": {"200": {"items": [{
        "event_id": EVENT_ID, "recorded_at": MOMENT, "tree_index": 1841,
        "entry": _AUDIT_ENTRY}], "next_cursor": None}}},
    ("post", "/v1/audit/events/search"): {
        "request": {"pseudonym": "ap-3f9c1e", "from": "2026-11-01", "limit": 50},
        "responses": {"200": {"items": [{"event_id": EVENT_ID, "recorded_at": MOMENT,
                                         "tree_index": 1841, "entry": _AUDIT_ENTRY}],
                              "next_cursor": None}},
    },
    ("post", "/v1/audit/subject-access"): {
        "request": {"identifiers": {"family_name": "Jansen", "birth_date": "1999-04-02"}},
        "responses": {"200": {
            "generated_at": LATER, "copy": "data-subject", "audit_pseudonym": "ap-3f9c1e",
            "linked_pseudonyms": [], "entry_count": 1, "entries": [{
                "event_id": EVENT_ID, "recorded_at": MOMENT, "tree_index": 1841,
                "action": "exchange", "actor": {"partner": VLAARDINGEN, "oin": VLAARDINGEN_OIN},
                "roles": ["slachtoffer"],
                "covenant": COVENANT, "covenant_version": "2026.1", "purpose": PURPOSE,
                "process_step": "detectie", "case_id": None,
                "categories": [{"id": "signaal", "title": "Signaal",
                                "legal_basis": "Convenant RIEC, art. 5"}],
                "recipients": [{"partner": RIEC, "oin": "99999999000000005000",
                                "decision": "allowed", "identity": "pseudonym",
                                "categories_delivered": ["signaal"],
                                "categories_withheld": [], "reasons": []}],
                "meeting_id": None, "other_persons": 1,
                "bundle_hash": "9c1f" + "0" * 60}]}},
    },
    ("get", "/v1/linkage/candidates"): {"responses": {"200": {"items": [_CANDIDATE]}}},
    ("post", "/v1/linkage/candidates/{candidate_id}/decision"): {
        "request": {"decision": "confirmed"},
        "responses": {"200": {**_CANDIDATE, "status": "confirmed", "decided_at": LATER}},
    },
    ("post", "/v1/linkage/candidates/{candidate_id}/unlink"): {"responses": {"200": {
        **_CANDIDATE, "status": "rejected", "decided_at": LATER}}},
    ("get", "/v1/cases"): {"responses": {"200": {"items": [{
        "id": CASE_ID, "covenant": COVENANT, "step": "weging_kwalificatie",
        "your_roles": ["regie"], "updated_at": LATER}]}}},
    ("post", "/v1/cases"): {
        "request": {"covenant": COVENANT, "signals": [EXCHANGE_ID],
                    "subjects": [{"pseudonym": PSEUDONYM, "role": "slachtoffer"}],
                    "case_manager": VLAARDINGEN},
        "responses": {"201": {**_CASE, "step": "detectie"}},
    },
    ("get", "/v1/cases/{case_id}"): {"responses": {"200": _CASE}},
    ("post", "/v1/cases/{case_id}/transitions"): {
        "request": {"to": "toewijzing_interventie",
                    "reason": "Besproken in het casusoverleg van 4 november"},
        "responses": {"200": {**_CASE, "step": "toewijzing_interventie"}},
    },
    ("post", "/v1/cases/{case_id}/assignments"): {
        "request": {"partner": POLITIE, "intervention": "Controle in het pand",
                    "priority": "hoog"},
        "responses": {"201": {**_ASSIGNMENT, "state": "offered", "decided_at": None,
                              "progress": []}},
    },
    ("post", "/v1/cases/{case_id}/assignments/{assignment_id}/decision"): {
        "request": {"accept": True},
        "responses": {"200": {**_ASSIGNMENT, "progress": []}},
    },
    ("post", "/v1/cases/{case_id}/assignments/{assignment_id}/progress"): {
        "request": {"note": "Controle uitgevoerd"},
        "responses": {"201": _ASSIGNMENT},
    },
    ("get", "/v1/meetings"): {"responses": {"200": {"items": [{
        "meeting_id": MEETING_ID, "title": "Casusoverleg mensenhandel", "date": "2026-11-12",
        "version": 2, "items": 3}]}}},
    ("post", "/v1/meetings"): {
        "request": {"covenant": COVENANT, "date": "2026-11-12",
                    "participants": [VLAARDINGEN, POLITIE]},
        "responses": {"201": {"id": MEETING_ID, "covenant": COVENANT, "date": "2026-11-12",
                              "state": "draft", "version": 0,
                              "participants": [VLAARDINGEN, POLITIE]}},
    },
    ("post", "/v1/meetings/{meeting_id}/items"): {
        "request": {"case_id": CASE_ID, "title": "Casus Schiedam-Noord",
                    "question": "Welke partner pakt de controle op?",
                    "proposed_decision": "Politie voert een controle uit"},
        "responses": {"201": _AGENDA_ITEM},
    },
    ("get", "/v1/meetings/{meeting_id}/routing"): {"responses": {"200": {
        "meeting_id": MEETING_ID, "version": 2, "participants": [VLAARDINGEN, POLITIE],
        "items": [{**_AGENDA_ITEM, "step": "weging_kwalificatie", "views": {
            VLAARDINGEN: {"view": "full", "reason": "case manager of the case"},
            POLITIE: {"view": "pseudonymised", "reason": "party without a grant for the case"},
        }}]}}},
    ("post", "/v1/meetings/{meeting_id}/publish"): {"responses": {"200": {
        "version": 2, "notified": [POLITIE]}}},
    ("get", "/v1/meetings/administered"): {"responses": {"200": {"items": [{
        "id": MEETING_ID, "covenant": COVENANT, "date": "2026-11-12", "state": "published",
        "version": 2, "participants": [VLAARDINGEN, POLITIE]}]}}},
    ("get", "/v1/meetings/{meeting_id}/agenda"): {"responses": {"200": {
        "type": "agenda.view", "title": "Casusoverleg mensenhandel", "meeting_id": MEETING_ID,
        "covenant": COVENANT, "date": "2026-11-12", "version": 2, "items": [{
            "number": 1, "id": ITEM_ID, "title": "Casus Schiedam-Noord", "view": "pseudonymised",
            "case_id": CASE_ID, "step": "weging_kwalificatie",
            "question": "Welke partner pakt de controle op?",
            "proposed_decision": "Politie voert een controle uit",
            "subjects": [{"alias": "A", "role": "slachtoffer"}]}]}}},
    ("post", "/v1/meetings/{meeting_id}/items/{item_id}/outcome"): {
        "request": {"approach": "Bestuurlijke controle", "assigned_partner": POLITIE,
                    "intervention": "Controle in het pand", "priority": "hoog",
                    "move_to": "toewijzing_interventie"},
        "responses": {"200": {**_AGENDA_ITEM, "outcome": {
            "approach": "Bestuurlijke controle", "assigned_partner": POLITIE}}},
    },
    ("post", "/v1/reidentifications"): {
        "request": {"pseudonym": PSEUDONYM, "case_id": CASE_ID,
                    "reason": "Opvang regelen voor het slachtoffer na de controle"},
        "responses": {"202": _REIDENTIFICATION},
    },
    ("get", "/v1/reidentifications/{reidentification_id}"): {"responses": {"200": {
        **_REIDENTIFICATION, "status": "approved", "approved_by": RIEC}}},
    ("post", "/v1/reidentifications/{reidentification_id}/approve"): {"responses": {"200": {
        **_REIDENTIFICATION, "status": "approved", "approved_by": RIEC}}},
    ("post", "/v1/reidentifications/{reidentification_id}/deny"): {"responses": {"200": {
        **_REIDENTIFICATION, "status": "refused", "approved_by": None}}},
    ("post", "/v1/pseudonyms/translate"): {
        "request": {"pseudonyms": [OTHER_PSEUDONYM]},
        "responses": {"200": {"translations": [{"pseudonym": OTHER_PSEUDONYM,
                                                "current": PSEUDONYM}],
                              "not_found": [], "audit_event_id": EVENT_ID}},
    },
    ("get", "/v1/statistics"): {"responses": {"200": {
        "from": "2026-01", "to": "2026-06", "minimum_cell": 5, "tables": {
            "signals_by_step": [{"month": "2026-03", "value": "detectie", "count": 12},
                                {"month": "2026-04", "value": "detectie", "count": "<5"}],
            "signals_by_sender": [{"month": "2026-03", "value": VLAARDINGEN, "count": 7}],
            "signals_by_category": [], "cases_opened": [], "cases_closed": [],
            "interventions": []}}}},
    ("post", "/v1/rights/rectifications"): {
        "request": {"identifiers": {"family_name": "de Vries", "birth_date": "1994-03-12"},
                    "corrections": {"given_names": "Eva Maria"}},
        "responses": {"201": {"id": RIGHTS_REQUEST_ID, "status": "recorded",
                              "fields": ["given_names"], "corrected_deliveries": 2,
                              "notified": [RIEC, POLITIE], "created_at": MOMENT}},
    },
    ("post", "/v1/rights/restrictions"): {
        "request": {"identifiers": {"bsn": "111222333"}},
        "responses": {"201": _RESTRICTION},
    },
    ("post", "/v1/rights/restrictions/{restriction_id}/lift"): {"responses": {
        "200": {**_RESTRICTION, "status": "lifted", "lifted_at": LATER},
        "202": {**_RESTRICTION, "status": "lift-pending"}}},
    ("post", "/v1/rights/objections"): {
        "request": {"identifiers": {"bsn": "111222333"}, "covenant": COVENANT,
                    "grounds": "Betrokkene maakt bezwaar tegen de verwerking voor analyse."},
        "responses": {"201": {"id": RIGHTS_REQUEST_ID, "status": "recorded",
                              "covenant": COVENANT, "contact_point": RIEC,
                              "created_at": MOMENT}},
    },
    ("get", "/v1/inbox/notices"): {"responses": {"200": {"items": [{
        "id": DELIVERY_ID, "type": "subject.rectified", "pseudonym": PSEUDONYM,
        "fields": ["given_names"], "identifiers": {"given_names": "Eva Maria"}}]}}},
}
