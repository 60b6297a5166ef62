"""The data subject's rights in a real browser: the municipality's officer corrects a victim's
family name and the RIEC, which received the old one, finds the correction among its notices;
the restriction and objection pages, and the region's officer's subject access with its PDF,
pass axe-core's WCAG 2.1 A/AA rules."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.factories import EVA, PIETER, RIEC, VLAARDINGEN
from tests.rights.factories import notices
from tests.workspace.browser.conftest import (
    LiveGateway,
    accessibility_violations,
    screenshots_dir,
)
from tests.workspace.browser.test_browser import signed_in_as
from tests.workspace.browser.test_officer_browser import verdict
from tests.workspace.officer import OFFICER, REGIONAL_OFFICER, send_victim_signal, sequence


def menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name=name).click()


def test_a_rectification_in_the_browser_reaches_the_recipients_notices(
        page: Page, live: LiveGateway) -> None:
    sequence(live.app)  # nothing waits for a checkpoint, so the audit gate takes exchanges
    api = live.app.test_client()
    send_victim_signal(live.app, api)
    signed_in_as(page, live, VLAARDINGEN, OFFICER, "fg-rectificatie@vl.example")

    menu(page, "Rectificatie")
    assert accessibility_violations(page) == []
    page.fill("#bsn", EVA["bsn"])
    page.fill("#new_family_name", "Jansen-Bakker")
    page.get_by_role("button", name="Rectificeren").click()

    assert "De rectificatie is vastgelegd" in page.inner_text("[role=status]")
    assert RIEC in page.inner_text("[role=status]")
    assert EVA["bsn"] not in page.url
    assert accessibility_violations(page) == []
    page.screenshot(path=screenshots_dir() / "rectificatie.png", full_page=True)
    [notice] = [n for n in notices(live.app, api) if n["type"] == "subject.rectified"]
    assert notice["fields"] == ["family_name"]

    page.goto("/werkruimte/privacy/bezwaar")
    assert accessibility_violations(page) == []
    menu(page, "Beperking")
    assert accessibility_violations(page) == []
    # Another person than Eva: the gateway is shared by the module's tests.
    page.fill("#family_name", PIETER["family_name"])
    page.fill("#birth_date", PIETER["birth_date"])
    page.get_by_role("button", name="Beperking instellen").click()
    page.wait_for_selector("table.utrecht-table")
    assert page.get_by_role("button", name="Opheffing aanvragen").count() == 1
    assert accessibility_violations(page) == []


def test_the_regional_officer_answers_a_subject_access_request_with_a_pdf(
        page: Page, live: LiveGateway) -> None:
    sequence(live.app)
    send_victim_signal(live.app, live.app.test_client())
    sequence(live.app)
    signed_in_as(page, live, RIEC, REGIONAL_OFFICER, "fg-inzage@riec.example")

    menu(page, "Inzageverzoek")
    assert accessibility_violations(page) == []
    page.fill("#bsn", EVA["bsn"])
    page.get_by_role("button", name="Rapport tonen").click()

    assert int(page.inner_text("#inzage-aantal")) >= 1
    assert "exchange.delivered" in page.inner_text("table.utrecht-table")
    assert ", 0 mislukt" in page.inner_text("#inzage-verificatie")
    assert accessibility_violations(page) == []
    page.screenshot(path=screenshots_dir() / "inzageverzoek.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Downloaden als pdf (Nederlands)").click()
    assert download.value.suggested_filename == "inzage.pdf"
    assert EVA["bsn"] not in download.value.url
    assert EVA["bsn"] not in page.url
    # The officer checks an entry whole, in the browser, on its own (audited) page.
    page.get_by_role("link", name="Verifieer in uw browser").first.click()
    assert verdict(page) == ("true", "geverifieerd")
