"""Signing in with password and TOTP, through the forms, and what a session allows."""

from __future__ import annotations

from typing import Any

from tests.workspace.factories import code_now, form_token, person, sign_in


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
