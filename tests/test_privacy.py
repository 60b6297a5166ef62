"""No BSN or name appears in plaintext anywhere in the database or in any log record after
real exchanges."""

from __future__ import annotations

import base64
import json
import logging

import pytest
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


# Distinctive enough that no pseudonym, hash or log line contains them by chance.
ANOUK = {"bsn": "582940011", "family_name": "Zwanenburgvlietstra", "given_names": "Wilhelmientje",
         "birth_date": "1987-11-23"}
JOOST = {"bsn": "736158200", "family_name": "Oudekerkhovenier", "given_names": "Bartholomeus",
         "birth_date": "1975-03-09"}
BAD_BSN = "736158209"  # fails the elfproef


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything at DEBUG, SQLAlchemy's statements, parameters and rows included (its engine
    logger is held at WARNING otherwise); set before the test's database connection exists,
    as SQLAlchemy decides per connection whether to log."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    return caplog


def _every_log_text(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)


def test_no_identifier_reaches_any_log_record(
    debug_logging: pytest.LogCaptureFixture, gateway_app: Flask, http: FlaskClient
) -> None:
    subjects = [{"ref": "p1", "role": "slachtoffer", "identifiers": ANOUK},
                {"ref": "p2", "role": "dader", "identifiers": JOOST}]
    items = [item("uitbuitingssignalen", "p1"), item("uitbuitingssignalen", "p2")]
    for step, sender in (("detectie", VLAARDINGEN), ("dossiervorming", POLITIE)):
        response = http.post("/v1/exchanges", headers=bearer(gateway_app, sender),
                             json=exchange_body(process_step=step, subjects=subjects,
                                                items=items))
        assert response.status_code == 201, response.json
    refused = exchange_body(recipients=[POLITIE], subjects=subjects, items=items)
    assert http.post("/v1/exchanges", json=refused,
                     headers=bearer(gateway_app, VLAARDINGEN)).status_code == 403
    bad = exchange_body(subjects=[{"ref": "p1", "role": "slachtoffer",
                                   "identifiers": {**ANOUK, "bsn": BAD_BSN}}],
                        items=[item("uitbuitingssignalen", "p1")])
    assert http.post("/v1/exchanges", json=bad,
                     headers=bearer(gateway_app, VLAARDINGEN)).status_code == 422
    inbox = http.get("/v1/inbox", headers=bearer(gateway_app, RIEC, ("inbox:read",))).json
    revealed = json.dumps(inbox)
    assert ANOUK["family_name"] in revealed, "the RIEC must have read identified deliveries"

    logged = _every_log_text(debug_logging.records).casefold()

    assert "insert into deliveries" in logged, "the statements must have been logged"
    for person in (ANOUK, JOOST):
        for secret in (person["bsn"], person["family_name"], person["given_names"]):
            assert secret.casefold() not in logged
    assert BAD_BSN not in logged
