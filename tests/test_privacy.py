"""No BSN or name appears in plaintext anywhere in the database after real exchanges."""

from __future__ import annotations

import base64

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from tests.factories import EVA, PIETER, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body, item


def _every_cell(session: Session) -> list[str]:
    cells = []
    connection = session.connection()
    for table in inspect(connection).get_table_names():
        for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608  # table names come from the schema itself
            cells += [bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
                      for v in row]
    return cells


def test_a_full_dump_holds_no_identifier_in_plaintext(
    gateway_app: Flask, http: FlaskClient, session: Session
) -> None:
    subjects = [{"ref": "p1", "role": "slachtoffer", "identifiers": EVA},
                {"ref": "p2", "role": "dader", "identifiers": PIETER}]
    items = [item("uitbuitingssignalen", "p1"), item("uitbuitingssignalen", "p2")]
    for step, sender in (("detectie", VLAARDINGEN), ("dossiervorming", POLITIE)):
        response = http.post("/v1/exchanges", headers=bearer(gateway_app, sender),
                             json=exchange_body(process_step=step, subjects=subjects,
                                                items=items))
        assert response.status_code == 201
    refused = exchange_body(recipients=[POLITIE], subjects=subjects, items=items)
    assert http.post("/v1/exchanges", json=refused,
                     headers=bearer(gateway_app, VLAARDINGEN)).status_code == 403
    assert http.get("/v1/inbox", headers=bearer(gateway_app, RIEC, ("inbox:read",))).json["items"]

    dump = "\n".join(_every_cell(session)).casefold()

    # Long enough that a random pseudonym or hash cannot contain them by chance.
    secrets = [EVA["bsn"], EVA["family_name"], PIETER["given_names"], "de vries", "1999-04-02"]
    for secret in secrets:
        assert secret.casefold() not in dump
        assert base64.b64encode(secret.encode()).decode().casefold() not in dump
    assert len(dump) > 1000, "the dump must actually contain the exchanges"
