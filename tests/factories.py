"""Factories shared across test packages: partner clients, bearer headers, exchange bodies."""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask

from gateway.auth.services import ClientService
from gateway.db import transaction

COVENANT = "riec-rr-mensenhandel"
PURPOSE = "ketenaanpak-mensenhandel"
RIEC = "riec-rotterdam-rijnmond"
VLAARDINGEN = "gemeente-vlaardingen"
SCHIEDAM = "gemeente-schiedam"
POLITIE = "politie-rotterdam"
GGD = "ggd-rotterdam-rijnmond"
OUTSIDER = "woningcorporatie-waterweg"

EVA = {"bsn": "111222333", "family_name": "Jansen", "given_names": "Eva",
       "birth_date": "1999-04-02"}
PIETER = {"family_name": "de Vries", "given_names": "Pieter", "birth_date": "1980-07-15"}


def bearer(app: Flask, partner: str, scopes: tuple[str, ...] = ("exchange:write", "inbox:read")
           ) -> dict[str, str]:
    """An Authorization header for a fresh client of ``partner`` with ``scopes``."""
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        client, _secret = ClientService().create(
            session, partner, list(scopes), container.bundle.partner_ids()
        )
        token = container.tokens.issue(client)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def exchange_body(**overrides: Any) -> dict[str, Any]:
    """The contract's example exchange: a municipality's signal about Eva to the RIEC."""
    body: dict[str, Any] = {
        "covenant": COVENANT,
        "purpose": PURPOSE,
        "process_step": "detectie",
        "recipients": [RIEC],
        "case_id": None,
        "subjects": [{"ref": "p1", "role": "slachtoffer", "identifiers": dict(EVA)}],
        "items": [{"category": "uitbuitingssignalen", "subject_ref": "p1",
                   "content": {"indicators": ["geen-id-papieren"],
                               "observed_at": "2026-11-20"}}],
    }
    body.update(copy.deepcopy(overrides))
    return body


def item(category: str, subject_ref: str | None = "p1", **content: Any) -> dict[str, Any]:
    return {"category": category, "subject_ref": subject_ref, "content": content or {"x": 1}}
