"""A partner tries to smuggle personal data into the append-only log through the FSC header.

The ``Fsc-Transaction-Id`` a caller sends is kept in the exchange's audit entry and in every
delivery, and audit entries can never be edited or erased: free text there could carry a
person's name past every pseudonymisation for good. Only a UUID is taken; anything else is a
400 that stores nothing and writes no entry.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from gateway.exchange.models import Exchange
from gateway.fsc import HEADER
from tests.factories import VLAARDINGEN, bearer, exchange_body

SMUGGLED = [
    "Jansen 1999",
    "111222333",
    "6f1c2a4e-0d3b-4c8e-9a43-1f6f0c9f2e71 Eva de Vries",
    "6f1c2a4e0d3b4c8e9a431f6f0c9f2e71Jansen",
    "x" * 5_000,
]


@pytest.mark.parametrize("value", SMUGGLED, ids=["name", "bsn", "uuid-and-name", "hex-and-name",
                                                 "long"])
def test_free_text_in_the_transaction_header_is_refused_and_leaves_no_trace(
    gateway_app: Flask, http: FlaskClient, session: Session, value: str
) -> None:
    response = http.post("/v1/exchanges", json=exchange_body(),
                         headers={**bearer(gateway_app, VLAARDINGEN), HEADER: value})

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert HEADER in response.json["detail"]
    assert value not in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Exchange)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
