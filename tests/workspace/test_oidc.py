"""Sign-in through the partner's identity provider (OpenID Connect, code flow with PKCE),
against a provider the test starts, and the ways such a sign-in must fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.keys import Keyring
from gateway.settings import Settings, SettingsError
from gateway.workspace.oidc import PROVIDERS_FILE, load_providers
from gateway.workspace.views import OIDC_STATE_COOKIE
from tests.factories import VLAARDINGEN
from tests.workspace.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    Client,
    Person,
    Provider,
    running,
)

START = f"/werkruimte/oidc/{VLAARDINGEN}"
CALLBACK = f"http://localhost/werkruimte/oidc/{VLAARDINGEN}/terug"


@pytest.fixture
def provider(clock: ManualClock) -> Iterator[Provider]:
    with running(Provider(clock=clock, person=Person(
            "vl-4711", "anna@vlaardingen.example", ["medewerker"]))) as started:
        started.client = Client(redirect_uri=CALLBACK)
        yield started


@pytest.fixture
def oidc_app(settings: Settings, connection: Connection, keyring: Keyring, clock: ManualClock,
             provider: Provider) -> Flask:
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True)
    (settings.instance_path / PROVIDERS_FILE).write_text(json.dumps({VLAARDINGEN: {
        "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "role_claim": "roles"}}))
    return create_app(settings, bind=connection, keyring=keyring, clock=clock)


def authorization_url(http: FlaskClient) -> str:
    response = http.get(START)
    assert response.status_code == 303
    location: str = response.headers["Location"]
    return location


def through_provider(url: str) -> str:
    """What the browser does at the provider: it signs in and is sent back with a code."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["Location"])
    return f"{back.path}?{back.query}"


def sign_in_through_provider(http: FlaskClient) -> Any:
    return http.get(through_provider(authorization_url(http)))


def signed_in_as(http: FlaskClient) -> str | None:
    page = http.get("/werkruimte/")
    return page.get_data(as_text=True) if page.status_code == 200 else None


def test_a_person_signs_in_through_the_partners_provider_with_pkce(
        oidc_app: Flask, provider: Provider) -> None:
    http = oidc_app.test_client()
    url = authorization_url(http)
    query = parse_qs(urlsplit(url).query)

    response = http.get(through_provider(url))

    assert query["code_challenge_method"] == ["S256"]
    assert all(query[name][0] for name in ("nonce", "state", "code_challenge"))
    assert response.status_code == 200
    page = signed_in_as(http)
    assert page is not None
    assert "anna@vlaardingen.example" in page
    assert "medewerker" in page
    assert http.get("/werkruimte/inbox").status_code == 200
    assert http.get("/werkruimte/casussen").status_code == 403


def test_the_role_follows_the_providers_claim_at_each_sign_in(
        oidc_app: Flask, provider: Provider) -> None:
    sign_in_through_provider(oidc_app.test_client())
    provider.person.roles = ["casemanager"]
    http = oidc_app.test_client()

    sign_in_through_provider(http)

    assert http.get("/werkruimte/casussen").status_code == 200


@pytest.mark.parametrize("misbehave", ["wrong issuer", "expired", "unknown role"])
def test_an_id_token_that_does_not_hold_signs_nobody_in(
        oidc_app: Flask, provider: Provider, misbehave: str) -> None:
    if misbehave == "wrong issuer":
        provider.issuer_in_tokens = "https://login.elders.example"
    elif misbehave == "expired":
        provider.id_token_lifetime_seconds = -1
    else:
        provider.person.roles = ["beheerder"]
    http = oidc_app.test_client()

    response = sign_in_through_provider(http)

    assert response.status_code == 401
    assert signed_in_as(http) is None


def test_a_replayed_callback_finds_its_state_used(oidc_app: Flask, provider: Provider) -> None:
    http = oidc_app.test_client()
    url = authorization_url(http)
    state = parse_qs(urlsplit(url).query)["state"][0]
    callback = through_provider(url)
    assert http.get(callback).status_code == 200
    attacker = oidc_app.test_client()
    attacker.set_cookie(OIDC_STATE_COOKIE, state, path="/werkruimte/oidc")

    replayed = attacker.get(callback)

    assert replayed.status_code == 401
    assert signed_in_as(attacker) is None


def test_a_callback_in_another_browser_is_refused(oidc_app: Flask, provider: Provider) -> None:
    """Login CSRF: a victim's browser must not finish a sign-in the attacker began."""
    attacker = oidc_app.test_client()
    callback = through_provider(authorization_url(attacker))
    victim = oidc_app.test_client()

    response = victim.get(callback)

    assert response.status_code == 401
    assert signed_in_as(victim) is None
    assert attacker.get(callback).status_code == 200  # the state was not spent by the refusal


def test_a_replayed_id_token_fails_on_its_nonce(oidc_app: Flask, provider: Provider) -> None:
    sign_in_through_provider(oidc_app.test_client())
    provider.replay_id_token = provider.issued_id_tokens[-1]
    http = oidc_app.test_client()

    response = sign_in_through_provider(http)

    assert response.status_code == 401
    assert signed_in_as(http) is None


def test_a_code_redeemed_under_another_sign_in_fails_its_pkce_check(
        oidc_app: Flask, provider: Provider) -> None:
    """Code injection: a code stolen from one sign-in, brought back under another's state."""
    victim = oidc_app.test_client()
    stolen = parse_qs(urlsplit(through_provider(authorization_url(victim))).query)["code"][0]
    attacker = oidc_app.test_client()
    own_state = parse_qs(urlsplit(authorization_url(attacker)).query)["state"][0]

    response = attacker.get(f"/werkruimte/oidc/{VLAARDINGEN}/terug?code={stolen}"
                            f"&state={own_state}")

    assert response.status_code == 401
    assert signed_in_as(attacker) is None


def test_the_sign_in_page_offers_the_configured_provider(oidc_app: Flask) -> None:
    page = oidc_app.test_client().get("/werkruimte/inloggen").get_data(as_text=True)

    assert f'href="{START}"' in page


def test_a_partner_without_a_provider_cannot_start_one(oidc_app: Flask) -> None:
    assert oidc_app.test_client().get("/werkruimte/oidc/politie-rotterdam").status_code == 401


@pytest.mark.parametrize(("providers", "message"), [
    ({"nobody": {"issuer": "https://x", "client_id": "c", "client_secret": "s"}},
     "no partner of the covenants"),
    ({VLAARDINGEN: {"issuer": "https://x"}}, "client_id"),
])
def test_a_wrong_providers_file_is_a_clear_settings_error(
        tmp_path: Path, providers: dict[str, Any], message: str) -> None:
    (tmp_path / PROVIDERS_FILE).write_text(json.dumps(providers))

    with pytest.raises(SettingsError, match=message):
        load_providers(tmp_path, frozenset({VLAARDINGEN}))
