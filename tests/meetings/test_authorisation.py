"""Who gets 401, 403 or served on every case and meeting endpoint.

The served half: a token holding exactly the endpoint's scope gets past the guard (to the
answer the endpoint gives for an absent resource, or a created one); the flows in the other
tests show every 2xx answer in context, each with tokens of that one scope.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import token
from tests.factories import POLITIE, RIEC
from tests.meetings.factories import MEETING_DAY

NOBODY = "0b7e7e4a-2d0c-4c1e-9a55-3e1f9d7a0c11"
MEETING_BODY = {"covenant": "riec-rr-mensenhandel", "date": MEETING_DAY,
                "participants": [RIEC, POLITIE]}

# (method, path, scope, body, status with the scope)
ENDPOINTS = [
    ("post", "/v1/cases", "case:write", {}, 422),
    ("get", f"/v1/cases/{NOBODY}", "case:read", None, 404),
    ("post", f"/v1/cases/{NOBODY}/transitions", "case:write", {"to": "evaluatie"}, 404),
    ("post", f"/v1/cases/{NOBODY}/assignments", "case:write",
     {"partner": POLITIE, "intervention": "x"}, 404),
    ("post", f"/v1/cases/{NOBODY}/assignments/{NOBODY}/decision", "case:write",
     {"accept": True}, 404),
    ("post", f"/v1/cases/{NOBODY}/assignments/{NOBODY}/progress", "case:write",
     {"note": "x"}, 404),
    ("post", "/v1/meetings", "meeting:admin", MEETING_BODY, 201),
    ("post", f"/v1/meetings/{NOBODY}/items", "meeting:admin",
     {"case_id": NOBODY, "title": "t", "question": "q", "proposed_decision": "p"}, 404),
    ("get", f"/v1/meetings/{NOBODY}/routing", "meeting:admin", None, 404),
    ("post", f"/v1/meetings/{NOBODY}/publish", "meeting:admin", None, 404),
    ("get", f"/v1/meetings/{NOBODY}/agenda", "meeting:read", None, 404),
    ("post", f"/v1/meetings/{NOBODY}/items/{NOBODY}/outcome", "meeting:admin",
     {"approach": "x"}, 404),
]
IDS = [f"{method} {path.replace(NOBODY, 'x')}" for method, path, *_ in ENDPOINTS]


def _call(http: FlaskClient, method: str, path: str, body: object, headers: dict[str, str]
          ) -> object:
    return getattr(http, method)(path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "scope", "body", "ok"), ENDPOINTS, ids=IDS)
def test_no_token_is_401(http: FlaskClient, method: str, path: str, scope: str, body: object,
                         ok: int) -> None:
    response = _call(http, method, path, body, {})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "scope", "body", "ok"), ENDPOINTS, ids=IDS)
def test_the_wrong_scope_is_403(gateway_app: Flask, http: FlaskClient, method: str, path: str,
                                scope: str, body: object, ok: int) -> None:
    # The neighbouring scope: read where write is needed, write where read is, and so on.
    other = {"case:write": "case:read", "case:read": "case:write",
             "meeting:admin": "meeting:read", "meeting:read": "meeting:admin"}[scope]

    response = _call(http, method, path, body, token(gateway_app, RIEC, (other,)))

    assert response.status_code == 403
    assert response.json["type"].endswith("/insufficient-scope")


@pytest.mark.parametrize(("method", "path", "scope", "body", "ok"), ENDPOINTS, ids=IDS)
def test_the_scope_lets_the_caller_in(gateway_app: Flask, http: FlaskClient, method: str,
                                      path: str, scope: str, body: object, ok: int) -> None:
    response = _call(http, method, path, body, token(gateway_app, RIEC, (scope,)))

    assert response.status_code == ok, response.json
