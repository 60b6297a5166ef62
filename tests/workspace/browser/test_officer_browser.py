"""The privacy officer in a real browser, under the pages' own Content-Security-Policy: an
entry's inclusion proof and checkpoint signature are verified by the browser itself
(WebCrypto Ed25519 and SHA-256), a page served with a tampered proof, entry or signature is
"niet geverifieerd", the checkpoint history's consistency proofs verify, and every officer page
passes axe-core's WCAG 2.1 A/AA rules."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route

from gateway.workspace.accounts import current_code
from gateway.workspace.wiring import SIGN_IN_WINDOW_SECONDS
from tests.factories import RIEC, VLAARDINGEN
from tests.workspace.browser.conftest import (
    LiveGateway,
    accessibility_violations,
    screenshots_dir,
)
from tests.workspace.browser.test_browser import signed_in_as
from tests.workspace.factories import person
from tests.workspace.officer import REGIONAL_OFFICER, append, send_victim_signal, sequence

DATA_BLOCK = re.compile(r'(<script type="application/json" id="bewijs">)(.*?)(</script>)', re.S)
OFFICER_PAGES = ("/werkruimte/privacy/audit", "/werkruimte/privacy/controlepunten",
                 "/werkruimte/privacy/getuige", "/werkruimte/privacy/statistieken",
                 "/werkruimte/privacy/convenanten",
                 "/werkruimte/privacy/convenanten/riec-rr-mensenhandel",
                 "/werkruimte/privacy/verwerkingsregister", "/werkruimte/privacy/vier-ogen")
_emails = iter(range(10_000))


def exchange_entry(pseudonym: str) -> dict[str, Any]:
    return {"action": "exchange.delivered",
            "actor": {"partner": VLAARDINGEN, "client": "vl-c"},
            "covenant": "riec-rr-mensenhandel", "recipients": [RIEC],
            "subjects": [{"role": "slachtoffer", "audit_pseudonym": pseudonym}],
            "decisions": [{"recipient": RIEC, "allowed": True}]}


@pytest.fixture
def officer(browser: Browser, live: LiveGateway) -> Iterator[Page]:
    """The region's privacy officer, signed in, in a context that keeps the real CSP."""
    context = browser.new_context(base_url=live.base_url, locale="nl-NL")
    page = context.new_page()
    someone = person(live.app, RIEC, REGIONAL_OFFICER, f"fg{next(_emails)}@riec.example")
    # Each test signs in from the same address: past the sign-in throttle's window first.
    live.clock.advance(timedelta(seconds=SIGN_IN_WINDOW_SECONDS))
    page.goto("/werkruimte/inloggen")
    page.fill("#email", someone.email)
    page.fill("#password", someone.password)
    page.press("#password", "Enter")
    page.wait_for_url("**/werkruimte/tweede-factor")
    page.fill("#code", current_code(someone.totp_secret, live.clock.now()))
    page.press("#code", "Enter")
    page.wait_for_url("**/werkruimte/")
    yield page
    context.close()


def logged_entry(live: LiveGateway, pseudonym: str) -> str:
    event_id, = append(live.app, exchange_entry(pseudonym))
    sequence(live.app)
    return event_id


def verdict(page: Page) -> tuple[str, str]:
    page.wait_for_function("() => /verification--/.test(document.getElementById('uitkomst')"
                           ".className)")
    return (page.get_attribute("#uitkomst", "data-verified") or "",
            page.inner_text("#uitkomst"))


def serve_tampered(context: BrowserContext, path: str,
                   tamper: Callable[[dict[str, Any]], None]) -> None:
    """Serve ``path`` as the server sends it, but with its proof data changed by ``tamper``."""
    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.text()
        found = DATA_BLOCK.search(body)
        assert found, "no proof data on the page"
        data = json.loads(html.unescape(found.group(2)))
        tamper(data)
        encoded = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e")
        route.fulfill(response=response, body=body.replace(found.group(2), encoded))

    context.route(f"**{path}", handle)


def flip_first_hash(data: dict[str, Any]) -> None:
    first = data["hashes"][0]
    data["hashes"][0] = ("B" if first[0] == "A" else "A") + first[1:]


def change_the_entry(data: dict[str, Any]) -> None:
    data["entry"] = data["entry"].replace("exchange.delivered", "exchange.refused")


def forge_the_signature(data: dict[str, Any]) -> None:
    text, _, signature_line = data["signed_note"].rpartition("\n\u2014 ")
    name, encoded = signature_line.rstrip("\n").split(" ")
    forged = ("A" if encoded[10] != "A" else "B").join((encoded[:10], encoded[11:]))
    data["signed_note"] = f"{text}\n\u2014 {name} {forged}\n"


def test_the_browser_verifies_an_entry_against_the_signed_checkpoint(
        officer: Page, live: LiveGateway) -> None:
    logged_entry(live, "ap-eerste")  # the proof of the next one then has a sibling hash
    event_id = logged_entry(live, "ap-eva")

    officer.goto(f"/werkruimte/privacy/audit/{event_id}")

    verified, text = verdict(officer)
    assert verified == "true"
    assert text == "geverifieerd"
    checks = officer.inner_text("#controles")
    assert "\u2717" not in checks
    assert "Handtekening van het controlepunt" in checks
    officer.screenshot(path=screenshots_dir() / "auditregel-geverifieerd.png", full_page=True)


@pytest.mark.parametrize("tamper", [flip_first_hash, change_the_entry, forge_the_signature],
                         ids=["proof-hash", "entry-text", "signature"])
def test_a_page_served_with_a_tampered_proof_is_not_verified(
        officer: Page, live: LiveGateway, tamper: Callable[[dict[str, Any]], None]) -> None:
    logged_entry(live, "ap-eerste")
    event_id = logged_entry(live, "ap-eva")
    path = f"/werkruimte/privacy/audit/{event_id}"
    officer.goto(path)
    assert verdict(officer)[0] == "true"  # the untouched page verifies, and pins the key
    serve_tampered(officer.context, path, tamper)

    officer.goto(path)

    verified, text = verdict(officer)
    assert verified == "false"
    assert text.startswith("niet geverifieerd")
    assert "\u2717" in officer.inner_text("#controles")


def test_a_checkpoint_signed_with_a_key_the_browser_never_pinned_is_not_verified(
        officer: Page, live: LiveGateway) -> None:
    event_id = logged_entry(live, "ap-eva")
    path = f"/werkruimte/privacy/audit/{event_id}"
    officer.goto(path)
    assert verdict(officer)[0] == "true"
    officer.evaluate("""() => localStorage.setItem('ketenpoort.audit-checkpoint-keys',
        JSON.stringify({"0": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="}))""")

    officer.reload()

    assert verdict(officer)[0] == "false"


def test_the_checkpoint_history_verifies_each_consistency_proof_in_the_browser(
        officer: Page, live: LiveGateway) -> None:
    for round_ in range(3):
        append(live.app, *[exchange_entry(f"ap-{round_}-{n}") for n in range(round_ + 2)])
        sequence(live.app)

    officer.goto("/werkruimte/privacy/controlepunten")

    assert verdict(officer)[0] == "true"
    cells = officer.locator("td[id^=status-]")
    assert cells.count() >= 3
    assert set(cells.all_inner_texts()) == {"geverifieerd"}
    officer.screenshot(path=screenshots_dir() / "controlepunten.png", full_page=True)


def test_a_tampered_consistency_proof_is_not_verified(officer: Page, live: LiveGateway) -> None:
    for round_ in range(2):
        append(live.app, *[exchange_entry(f"ap-c{round_}-{n}") for n in range(3)])
        sequence(live.app)
    path = "/werkruimte/privacy/controlepunten"
    officer.goto(path)
    assert verdict(officer)[0] == "true"

    def tamper(data: dict[str, Any]) -> None:
        proof = data["checkpoints"][0]["consistency_with_previous"]
        proof[0] = ("B" if proof[0][0] == "A" else "A") + proof[0][1:]

    serve_tampered(officer.context, path, tamper)
    officer.goto(path)

    assert verdict(officer)[0] == "false"
    assert officer.locator("td[id^=status-]").first.inner_text() == "niet geverifieerd"


def test_every_officer_page_passes_the_accessibility_check(page: Page,
                                                           live: LiveGateway) -> None:
    sequence(live.app)  # nothing waits for a checkpoint, so the audit gate takes exchanges
    api = live.app.test_client()
    for step in ("detectie",) * 6 + ("dossiervorming",):  # a shown cell and a "<5" one
        send_victim_signal(live.app, api, step)
    event_id = logged_entry(live, "ap-axe")
    signed_in_as(page, live, RIEC, REGIONAL_OFFICER, "fg-axe@riec.example")

    for path in (*OFFICER_PAGES, f"/werkruimte/privacy/audit/{event_id}"):
        page.goto(path)
        assert accessibility_violations(page) == [], path
    page.goto("/werkruimte/privacy/statistieken")
    assert page.locator("svg.workspace-chart").count() >= 3  # axe saw the charts above
    page.screenshot(path=screenshots_dir() / "statistieken.png", full_page=True)
    page.goto("/werkruimte/privacy/convenanten/riec-rr-mensenhandel?stap=uitvoering")
    page.screenshot(path=screenshots_dir() / "wie-mag-wat-zien.png", full_page=True)
