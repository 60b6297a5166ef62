"""Signing in with password and TOTP, through the forms, and what a session allows."""

from __future__ import annotations

import re
from typing import Any

from gateway.workspace.accounts import current_code
from tests.factories import VLAARDINGEN
from tests.workspace.factories import CSRF_FIELD, code_now, form_token, person, sign_in


def test_a_person_signs_in_with_password_and_code_and_sees_the_workspace(
        gateway_app: Any, http: Any) -> None:
    someone = person(gateway_app)

    sign_in(gateway_app, http, someone)

    page = http.get("/werkruimte/")
    assert page.status_code == 200
    assert someone.email in page.get_data(as_text=True)
    assert "Signaal melden" in page.get_data(as_text=True)


def test_the_password_alone_does_not_open_pages(gateway_app: Any, http: Any) -> None:
    someone = person(gateway_app)
    http.post("/werkruimte/inloggen", data={
        "csrf_token": form_token(http), "email": someone.email, "password": someone.password})

    assert http.get("/werkruimte/inbox").status_code == 401


def test_a_wrong_code_is_refused(gateway_app: Any, http: Any) -> None:
    someone = person(gateway_app)
    http.post("/werkruimte/inloggen", data={
        "csrf_token": form_token(http), "email": someone.email, "password": someone.password})
    wrong = f"{(int(code_now(gateway_app, someone)) + 1) % 1_000_000:06d}"

    response = http.post("/werkruimte/tweede-factor", data={
        "csrf_token": form_token(http, "/werkruimte/tweede-factor"), "code": wrong})

    assert response.status_code == 401
    assert http.get("/werkruimte/inbox").status_code == 401


def test_a_new_person_enrols_the_second_factor_at_the_first_sign_in(
        gateway_app: Any, http: Any) -> None:
    container = gateway_app.extensions["ketenpoort"]
    account, password = container.workspace.accounts.create(
        VLAARDINGEN, "medewerker", "nieuw@vlaardingen.example", container.bundle.partner_ids())

    response = http.post("/werkruimte/inloggen", data={
        "csrf_token": form_token(http), "email": account.email, "password": password})
    assert response.headers["Location"].endswith("/werkruimte/koppelen")
    assert http.get("/werkruimte/inbox").status_code == 401  # not before the second factor
    page = http.get("/werkruimte/koppelen").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret
    token = CSRF_FIELD.search(page)
    assert token
    code = current_code(secret.group(1), container.clock.now())

    response = http.post("/werkruimte/koppelen", data={"csrf_token": token.group(1),
                                                      "code": code})

    assert response.status_code == 303
    assert http.get("/werkruimte/inbox").status_code == 200
    assert container.workspace.accounts.account(account.id).totp_enrolled


def test_after_a_reset_the_old_authenticator_no_longer_works(gateway_app: Any,
                                                              http: Any) -> None:
    someone = person(gateway_app)
    gateway_app.extensions["ketenpoort"].workspace.accounts.reset_totp(someone.email)

    response = http.post("/werkruimte/inloggen", data={
        "csrf_token": form_token(http), "email": someone.email, "password": someone.password})

    assert response.headers["Location"].endswith("/werkruimte/koppelen")
    assert http.get("/werkruimte/tweede-factor").status_code == 303  # no code step to use
