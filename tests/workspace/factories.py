"""People in the workspace, made through the real account service, and signing them in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from gateway.workspace.accounts import current_code
from tests.factories import RIEC, VLAARDINGEN

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PARTNER_IN_COVENANT = VLAARDINGEN
RIEC_PARTNER = RIEC


@dataclass(frozen=True)
class Someone:
    id: str
    email: str
    password: str
    totp_secret: str
    partner: str
    role: str


def person(app: Flask, partner: str = VLAARDINGEN, role: str = "medewerker",
           email: str | None = None) -> Someone:
    """An account with an enrolled second factor (as ``ketenpoort init --demo`` makes them)."""
    container = app.extensions["ketenpoort"]
    accounts = container.workspace.accounts
    email = email or f"{role}@{partner}.example"
    account, password = accounts.create(partner, role, email, container.bundle.partner_ids())
    secret = accounts.enrol_directly(email)
    return Someone(account.id, email, password, secret, partner, role)


def form_token(http: FlaskClient, path: str = "/werkruimte/inloggen") -> str:
    page = http.get(path)
    found = CSRF_FIELD.search(page.get_data(as_text=True))
    assert found, f"no form token on {path}"
    return found.group(1)


def code_now(app: Flask, someone: Someone, steps_ahead: int = 0) -> str:
    clock = app.extensions["ketenpoort"].clock
    return current_code(someone.totp_secret, clock.now() + timedelta(seconds=30 * steps_ahead))


def sign_in(app: Flask, http: FlaskClient, someone: Someone) -> None:
    """Password, then the second factor: the browser's way in, through the forms."""
    response = http.post("/werkruimte/inloggen", data={
        "csrf_token": form_token(http), "email": someone.email, "password": someone.password})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/werkruimte/tweede-factor")
    response = http.post("/werkruimte/tweede-factor", data={
        "csrf_token": form_token(http, "/werkruimte/tweede-factor"),
        "code": code_now(app, someone)})
    assert response.status_code == 303, response.get_data(as_text=True)


def signed_in_client(app: Flask, partner: str = VLAARDINGEN, role: str = "medewerker",
                     email: str | None = None) -> tuple[FlaskClient, Someone]:
    """A browser of its own, signed in as a new person of ``partner`` in ``role``."""
    client = app.test_client()
    someone = person(app, partner, role, email)
    sign_in(app, client, someone)
    return client, someone
