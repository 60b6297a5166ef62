"""Rights factories: exchanges about persons, and what a recipient's inbox and notices hold."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import token
from tests.factories import EVA, RIEC, VLAARDINGEN, exchange_body, item

OFFICER = ("rights:write",)
INBOX = ("inbox:read",)
EVA_BY_NAME = {k: v for k, v in EVA.items() if k != "bsn"}


def send(app: Flask, http: FlaskClient, subjects: list[dict[str, Any]],
         items: list[dict[str, Any]] | None = None, sender: str = VLAARDINGEN,
         step: str = "detectie") -> Any:
    body = exchange_body(subjects=subjects, process_step=step,
                         items=items or [item("uitbuitingssignalen", s["ref"]) for s in subjects])
    return http.post("/v1/exchanges", json=body, headers=token(app, sender, ("exchange:write",)))


def person(ref: str, identifiers: dict[str, str], role: str = "slachtoffer") -> dict[str, Any]:
    return {"ref": ref, "role": role, "identifiers": identifiers}


def inbox(app: Flask, http: FlaskClient, partner: str = RIEC) -> list[dict[str, Any]]:
    response = http.get("/v1/inbox", headers=token(app, partner, INBOX))
    assert response.status_code == 200, response.json
    items: list[dict[str, Any]] = response.json["items"]
    return items


def notices(app: Flask, http: FlaskClient, partner: str = RIEC) -> list[dict[str, Any]]:
    response = http.get("/v1/inbox/notices", headers=token(app, partner, INBOX))
    assert response.status_code == 200, response.json
    items: list[dict[str, Any]] = response.json["items"]
    return items
