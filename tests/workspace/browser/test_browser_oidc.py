"""Signing in through the partner's identity provider in a real browser: the provider lives on
another site (127.0.0.1 against the gateway's localhost), so the cookies' SameSite rules apply
as they will in production."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from gateway.clock import ManualClock
from gateway.settings import Settings
from gateway.workspace.oidc import PROVIDERS_FILE
from tests.conftest import TEST_MORNING
from tests.factories import VLAARDINGEN
from tests.workspace.browser.conftest import LiveGateway, accessibility_violations, serving
from tests.workspace.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    Client,
    Person,
    Provider,
    running,
)


@pytest.fixture(scope="module")
def federated(tmp_path_factory: pytest.TempPathFactory, test_policies_path: Path
              ) -> Iterator[tuple[LiveGateway, Provider]]:
    clock = ManualClock(TEST_MORNING)
    settings = Settings(instance_path=tmp_path_factory.mktemp("oidc") / "instance",
                        policies_path=test_policies_path)
    person = Person("vl-0815", "coordinator@vlaardingen.example", ["casemanager"])
    with running(Provider(clock=clock, person=person)) as provider:
        settings.instance_path.mkdir(parents=True)
        (settings.instance_path / PROVIDERS_FILE).write_text(json.dumps({VLAARDINGEN: {
            "issuer": provider.issuer, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET}}))
        with serving(settings, clock) as gateway:
            provider.client = Client(
                redirect_uri=f"{gateway.base_url}/werkruimte/oidc/{VLAARDINGEN}/terug")
            yield gateway, provider


def test_a_person_signs_in_through_the_provider_in_the_browser(
        browser: Browser, federated: tuple[LiveGateway, Provider]) -> None:
    gateway, _provider = federated
    context = browser.new_context(base_url=gateway.base_url, bypass_csp=True, locale="nl-NL")
    page = context.new_page()
    page.goto("/werkruimte/inloggen")

    page.click(f"a:has-text('{VLAARDINGEN}')")

    page.wait_for_url("**/werkruimte/")
    assert "coordinator@vlaardingen.example" in page.inner_text("header")
    assert accessibility_violations(page) == []
    page.goto("/werkruimte/casussen")
    assert page.inner_text("h1") == "Mijn casussen"
    context.close()
