"""Attacks on the workspace's sign-in and sessions, as a hostile browser would make them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from gateway.clock import ManualClock
from gateway.workspace.accounts import MAX_FAILURES
from gateway.workspace.guard import SESSION_COOKIE
from gateway.workspace.wiring import IDLE_TIMEOUT, SIGN_IN_LIMIT
from tests.cases.factories import create_case
from tests.factories import POLITIE
from tests.workspace.factories import code_now, form_token, person, sign_in, signed_in_client


def _password_step(http: FlaskClient, someone: Any, password: str | None = None) -> int:
    response = http.post("/werkruimte/inloggen", data={
        "csrf_token": form_token(http), "email": someone.email,
        "password": someone.password if password is None else password})
    return response.status_code


def _cookie(http: FlaskClient) -> str | None:
    cookie = http.get_cookie(SESSION_COOKIE, path="/werkruimte")
    return None if cookie is None else cookie.value


def test_a_session_token_planted_before_sign_in_never_becomes_signed_in(
        gateway_app: Flask) -> None:
    """Session fixation: a token the attacker plants in the victim's browser dies when the
    victim signs in; every stage of the sign-in hands out a new one."""
    attacker_account = person(gateway_app, email="mallory@vlaardingen.example")
    victim_account = person(gateway_app, email="victim@vlaardingen.example")
    attacker = gateway_app.test_client()
    _password_step(attacker, attacker_account)  # a real token, at the password stage
    planted = _cookie(attacker)
    victim = gateway_app.test_client()
    victim.set_cookie(SESSION_COOKIE, planted or "", path="/werkruimte")

    sign_in(gateway_app, victim, victim_account)

    assert _cookie(victim) not in (None, planted)
    assert victim_account.email in victim.get("/werkruimte/").get_data(as_text=True)
    assert attacker.get("/werkruimte/inbox").status_code == 401
    assert attacker.get("/werkruimte/tweede-factor").status_code == 303  # back to the start


def test_a_form_posted_without_its_token_is_refused_and_changes_nothing(
        gateway_app: Flask) -> None:
    http, _ = signed_in_client(gateway_app)

    forged = http.post("/werkruimte/signaal", data={
        "covenant": "riec-rr-mensenhandel", "subject_role": "slachtoffer",
        "family_name": "Jansen", "category": "uitbuitingssignalen"})
    signed_out = http.post("/werkruimte/uitloggen")

    assert forged.status_code == 400
    assert signed_out.status_code == 400
    assert http.get("/werkruimte/inbox").status_code == 200  # still signed in
    assert "Het formulier is verlopen" in forged.get_data(as_text=True)


def test_a_token_from_another_browser_does_not_pass(gateway_app: Flask) -> None:
    someone = person(gateway_app)
    victim, attacker = gateway_app.test_client(), gateway_app.test_client()
    sign_in(gateway_app, victim, someone)

    response = victim.post("/werkruimte/uitloggen", data={"csrf_token": form_token(attacker)})

    assert response.status_code == 400


def test_another_partners_case_by_url_is_not_found(gateway_app: Flask,
                                                   http: FlaskClient) -> None:
    case = create_case(gateway_app, http)  # Vlaardingen's case
    police, _ = signed_in_client(gateway_app, POLITIE, "casemanager")

    response = police.get(f"/werkruimte/casussen/{case['id']}")

    assert response.status_code == 404
    assert case["id"] not in police.get("/werkruimte/casussen").get_data(as_text=True)


def test_guessing_the_code_locks_the_account_even_for_the_right_code(
        gateway_app: Flask) -> None:
    someone = person(gateway_app)
    http = gateway_app.test_client()
    _password_step(http, someone)
    statuses = []
    for guess in range(MAX_FAILURES):
        statuses.append(http.post("/werkruimte/tweede-factor", data={
            "csrf_token": form_token(http, "/werkruimte/tweede-factor"),
            "code": f"{guess:06d}" if f"{guess:06d}" != code_now(gateway_app, someone)
            else "999999"}).status_code)

    right = http.post("/werkruimte/tweede-factor", data={
        "csrf_token": form_token(http, "/werkruimte/tweede-factor"),
        "code": code_now(gateway_app, someone)})

    assert statuses == [401] * MAX_FAILURES
    assert right.status_code == 401
    assert "geblokkeerd" in right.get_data(as_text=True)
    assert http.get("/werkruimte/inbox").status_code == 401


def test_a_locked_account_opens_again_after_the_lockout(gateway_app: Flask,
                                                         clock: ManualClock) -> None:
    someone = person(gateway_app)
    http = gateway_app.test_client()
    for _ in range(MAX_FAILURES):
        _password_step(http, someone, password="wrong")
    assert _password_step(http, someone) == 401  # locked, although the password is right

    clock.advance(timedelta(minutes=16))

    assert _password_step(http, someone) == 303


def test_one_address_cannot_spray_passwords_over_many_accounts(gateway_app: Flask) -> None:
    people = [person(gateway_app, email=f"p{n}@vlaardingen.example") for n in range(3)]
    http = gateway_app.test_client()
    statuses = [_password_step(http, people[n % 3], password="wrong")
                for n in range(SIGN_IN_LIMIT + 1)]

    assert statuses == [401] * SIGN_IN_LIMIT + [429]
    assert _password_step(http, people[0]) == 429  # even the right password waits


def test_a_disabled_persons_open_session_is_killed(gateway_app: Flask) -> None:
    http, someone = signed_in_client(gateway_app)
    assert http.get("/werkruimte/inbox").status_code == 200

    gateway_app.extensions["ketenpoort"].workspace.accounts.disable(someone.email)

    assert http.get("/werkruimte/inbox").status_code == 401
    assert _password_step(http, someone) == 401


def test_an_idle_session_expires(gateway_app: Flask, clock: ManualClock) -> None:
    http, _ = signed_in_client(gateway_app)
    clock.advance(IDLE_TIMEOUT - timedelta(seconds=1))
    assert http.get("/werkruimte/inbox").status_code == 200  # activity keeps it alive

    clock.advance(IDLE_TIMEOUT)

    assert http.get("/werkruimte/inbox").status_code == 401


def test_a_code_is_accepted_once(gateway_app: Flask) -> None:
    someone = person(gateway_app)
    first, second = gateway_app.test_client(), gateway_app.test_client()
    sign_in(gateway_app, first, someone)  # uses the current code
    _password_step(second, someone)

    replayed = second.post("/werkruimte/tweede-factor", data={
        "csrf_token": form_token(second, "/werkruimte/tweede-factor"),
        "code": code_now(gateway_app, someone)})

    assert replayed.status_code == 401


def test_signing_out_ends_the_session_on_the_server(gateway_app: Flask) -> None:
    http, _ = signed_in_client(gateway_app)
    token = _cookie(http)

    http.post("/werkruimte/uitloggen", data={"csrf_token": form_token(http, "/werkruimte/")})
    replay = gateway_app.test_client()
    replay.set_cookie(SESSION_COOKIE, token or "", path="/werkruimte")

    assert replay.get("/werkruimte/inbox").status_code == 401


def test_cookies_are_secure_httponly_and_strict(gateway_app: Flask) -> None:
    someone = person(gateway_app)
    http = gateway_app.test_client()
    response = http.post("/werkruimte/inloggen", data={
        "csrf_token": form_token(http), "email": someone.email, "password": someone.password})

    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    assert all(flag in session for flag in ("Secure", "HttpOnly", "SameSite=Strict"))
    form = gateway_app.test_client().get("/werkruimte/inloggen").headers.getlist("Set-Cookie")
    assert form
    assert all("Secure" in c and "HttpOnly" in c and "SameSite=Strict" in c for c in form)
