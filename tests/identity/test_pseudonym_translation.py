"""POST /v1/pseudonyms/translate: a partner's own old pseudonyms, mapped after a key rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from audit.models import AuditEntry
from gateway.app import create_app
from gateway.db import transaction
from gateway.delivery.models import Delivery
from gateway.identity.rotation import KeyRotation
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body

READ = ("inbox:read",)


@pytest.fixture
def instance(tmp_path: Path) -> Settings:
    settings = Settings(instance_path=tmp_path / "instance")
    Keyring.generate().save(settings.keyring_path)
    return settings


def _app(settings: Settings, connection: Connection) -> Flask:
    """A gateway process as started now: it loads the keyring file as it is at this moment."""
    return create_app(settings, bind=connection, keyring=Keyring.load(settings.keyring_path))


def _deliver_eva(app: Flask) -> str:
    http = app.test_client()
    response = http.post("/v1/exchanges", json=exchange_body(),
                         headers=bearer(app, VLAARDINGEN))
    assert response.status_code == 201, response.json
    with transaction(app.extensions["ketenpoort"].session_factory) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.recipient == RIEC)
                                   .order_by(Delivery.seq.desc())).first()
        assert delivery is not None
        pseudonym: str = delivery.payload["subjects"][0]["pseudonym"]
    return pseudonym


def _translate(app: Flask, partner: str, body: Any, scopes: tuple[str, ...] = READ) -> Any:
    return app.test_client().post("/v1/pseudonyms/translate", json=body,
                                  headers=bearer(app, partner, scopes))


def test_old_pseudonyms_translate_to_the_new_version_after_rotation(
    instance: Settings, connection: Connection
) -> None:
    before = _app(instance, connection)
    old = _deliver_eva(before)
    assert old.startswith("PSN1-")
    rotation = KeyRotation(instance.keyring_path,
                           before.extensions["ketenpoort"].session_factory,
                           before.extensions["ketenpoort"].audit)
    assert rotation.rotate("pseudonym") == 2

    after = _app(instance, connection)  # the restarted workers
    current = _deliver_eva(after)
    assert current.startswith("PSN2-")
    response = _translate(after, RIEC, {"pseudonyms": [old, "PSN1-AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"]})
    assert response.status_code == 200, response.json
    assert response.json["translations"] == [{"pseudonym": old, "current": current}]
    assert response.json["not_found"] == ["PSN1-AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"]
    with transaction(after.extensions["ketenpoort"].session_factory) as session:
        entries = [json.loads(e) for e in session.scalars(select(AuditEntry.entry))]
    [event] = [e for e in entries if e["action"] == "pseudonyms.translated"]
    assert event["not_found"] == 1
    assert [s[:3] for s in event["subjects"]] == ["AUD"]
    assert all(value not in json.dumps(event) for value in EVA.values())


def test_another_partners_pseudonyms_are_not_found(
    instance: Settings, connection: Connection
) -> None:
    app = _app(instance, connection)
    old = _deliver_eva(app)
    response = _translate(app, POLITIE, {"pseudonyms": [old]})
    assert response.status_code == 200
    assert response.json == {"translations": [], "not_found": [old],
                             "audit_event_id": response.json["audit_event_id"]}


@pytest.mark.parametrize(("scopes", "status"), [(("reidentify",), 403), (READ, 200)])
def test_who_may_translate(instance: Settings, connection: Connection,
                           scopes: tuple[str, ...], status: int) -> None:
    app = _app(instance, connection)
    assert _translate(app, RIEC, {"pseudonyms": ["PSN1-X"]}, scopes).status_code == status
    assert app.test_client().post("/v1/pseudonyms/translate", json={}).status_code == 401


@pytest.mark.parametrize(("body", "pointer"), [
    ({}, "/pseudonyms"),
    ({"pseudonyms": []}, "/pseudonyms"),
    ({"pseudonyms": "PSN1-X"}, "/pseudonyms"),
    ({"pseudonyms": ["PSN1-X", 4]}, "/pseudonyms/1"),
    ({"pseudonyms": ["x" * 65]}, "/pseudonyms/0"),
    ({"pseudonyms": ["PSN1-X"], "extra": True}, "/extra"),
])
def test_bad_input_names_the_field(instance: Settings, connection: Connection, body: Any,
                                   pointer: str) -> None:
    response = _translate(_app(instance, connection), RIEC, body)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.json["errors"]]
