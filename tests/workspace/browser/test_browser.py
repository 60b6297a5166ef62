"""The workspace in a real browser: sign in with password and TOTP, report a signal through
the form and find it in the RIEC's inbox, with the keyboard alone; every page passes axe-core's
WCAG 2.1 A/AA rules; a form without its token is refused; an idle session expires."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, Page

from gateway.workspace.accounts import current_code
from gateway.workspace.wiring import IDLE_TIMEOUT, SIGN_IN_WINDOW_SECONDS
from tests.cases.factories import create_case, put_case_at
from tests.conftest import TEST_TODAY
from tests.factories import POLITIE, RIEC, VLAARDINGEN
from tests.meetings.factories import MEETING_DAY
from tests.workspace.browser.conftest import (
    LiveGateway,
    accessibility_violations,
    screenshots_dir,
)
from tests.workspace.factories import Someone, person

MAX_TABS = 30
EN_DASH = "\N{EN DASH}"  # between the planned dates on the case page


def tab_to(page: Page, element_id: str) -> None:
    """Move the focus with the Tab key only, as a keyboard user does."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == (
                element_id):
            return
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def type_into(page: Page, element_id: str, text: str) -> None:
    tab_to(page, element_id)
    page.keyboard.type(text)


def sign_in_by_keyboard(page: Page, live: LiveGateway, someone: Someone) -> None:
    page.goto("/werkruimte/")
    assert page.url.endswith("/werkruimte/inloggen")
    assert accessibility_violations(page) == []
    page.screenshot(path=screenshots_dir() / "inloggen.png")
    type_into(page, "email", someone.email)
    type_into(page, "password", someone.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/werkruimte/tweede-factor")
    assert accessibility_violations(page) == []
    type_into(page, "code", current_code(someone.totp_secret, live.clock.now()))
    page.keyboard.press("Enter")
    page.wait_for_url("**/werkruimte/")


def signed_in_as(page: Page, live: LiveGateway, partner: str, role: str, email: str
                 ) -> Someone:
    """A new person of ``partner`` in ``role``, signed in on ``page`` by keyboard."""
    # Each test signs in from the same address: past the sign-in throttle's window first.
    live.clock.advance(timedelta(seconds=SIGN_IN_WINDOW_SECONDS))
    someone = person(live.app, partner, role, email)
    sign_in_by_keyboard(page, live, someone)
    return someone


def test_a_signal_goes_from_the_municipality_form_to_the_riec_inbox_by_keyboard(
        page: Page, browser: Browser, live: LiveGateway) -> None:
    reporter = person(live.app, VLAARDINGEN, "medewerker", "melder@vlaardingen.example")
    sign_in_by_keyboard(page, live, reporter)
    assert accessibility_violations(page) == []

    page.goto("/werkruimte/signaal")
    assert accessibility_violations(page) == []
    page.screenshot(path=screenshots_dir() / "signaal-melden.png", full_page=True)
    page.select_option("#covenant", "riec-rr-mensenhandel")
    page.select_option("#category", "uitbuitingssignalen")
    type_into(page, "given_names", "Eva")
    type_into(page, "family_name", "Jansen")
    type_into(page, "birth_date", "14031990")  # the date input takes digits in order
    type_into(page, "indicators", "geen-id-papieren")
    page.keyboard.press("Enter")

    page.wait_for_selector("h1:has-text('Signaal verstuurd')")
    assert accessibility_violations(page) == []
    assert "riec-rotterdam-rijnmond: geleverd" in " ".join(page.inner_text("main").split())

    riec_context = browser.new_context(base_url=live.base_url, bypass_csp=True,
                                       locale="nl-NL")
    riec_page = riec_context.new_page()
    sign_in_by_keyboard(riec_page, live, person(live.app, RIEC, "regie", "regie@riec.example"))
    riec_page.goto("/werkruimte/inbox")
    assert accessibility_violations(riec_page) == []
    riec_page.screenshot(path=screenshots_dir() / "mijn-inbox.png", full_page=True)
    riec_page.click("summary:has-text('Casus aanmaken')")
    riec_page.click("form button:has-text('Casus aanmaken')")
    riec_page.wait_for_selector("h1:has-text('Casus')")
    assert "detectie" in riec_page.inner_text("main")
    assert accessibility_violations(riec_page) == []
    riec_page.select_option("#to", "dossiervorming")
    riec_page.click("button:has-text('Stap zetten')")
    riec_page.wait_for_selector("dd:has-text('dossiervorming')")
    inbox = riec_page.inner_text("main")
    assert "gemeente-vlaardingen" in inbox
    assert "PSN" in inbox
    assert "Jansen" not in inbox
    riec_page.goto("/werkruimte/casussen")
    assert accessibility_violations(riec_page) == []
    riec_page.goto("/werkruimte/agenda")
    assert accessibility_violations(riec_page) == []
    riec_context.close()


def test_a_field_error_is_shown_at_the_field_and_is_accessible(
        page: Page, live: LiveGateway) -> None:
    sign_in_by_keyboard(page, live, person(live.app, VLAARDINGEN, "medewerker",
                                           "fout@vlaardingen.example"))
    page.goto("/werkruimte/signaal")
    page.fill("#family_name", "Jansen")
    page.fill("#bsn", "123")
    page.click("button[type=submit]:has-text('Signaal versturen')")

    page.wait_for_selector("#bsn-fout")
    assert page.get_attribute("#bsn", "aria-invalid") == "true"
    assert accessibility_violations(page) == []


def test_a_form_without_its_token_is_refused_in_the_browser(
        page: Page, live: LiveGateway) -> None:
    sign_in_by_keyboard(page, live, person(live.app, VLAARDINGEN, "medewerker",
                                           "csrf@vlaardingen.example"))
    page.goto("/werkruimte/signaal")
    page.evaluate("() => document.querySelector('main input[name=csrf_token]').remove()")

    page.click("button[type=submit]:has-text('Signaal versturen')")

    page.wait_for_selector("h1:has-text('Het formulier is verlopen')")
    assert accessibility_violations(page) == []


def test_an_idle_session_expires_in_the_browser(page: Page, live: LiveGateway) -> None:
    sign_in_by_keyboard(page, live, person(live.app, VLAARDINGEN, "medewerker",
                                           "idle@vlaardingen.example"))
    live.clock.advance(IDLE_TIMEOUT + timedelta(seconds=1))

    response = page.goto("/werkruimte/inbox")

    assert response is not None
    assert response.status == 401
    assert accessibility_violations(page) == []


def test_the_page_runs_no_script_under_its_own_policy(browser: Browser,
                                                      live: LiveGateway) -> None:
    context = browser.new_context(base_url=live.base_url)  # the real CSP, not bypassed
    page = context.new_page()
    page.goto("/werkruimte/inloggen")

    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'document.title = "owned"';
                             document.body.appendChild(s); }""")

    assert page.title() != "owned"
    context.close()


def test_the_accessibility_check_finds_what_it_is_there_to_find(page: Page) -> None:
    page.set_content('<html lang="nl"><body><main><img src="x.png"></main></body></html>')

    assert "image-alt" in {violation["id"] for violation in accessibility_violations(page)}


def test_the_assigned_partner_accepts_an_intervention_on_the_case_page(
        page: Page, live: LiveGateway) -> None:
    api = live.app.test_client()
    case = create_case(live.app, api)
    put_case_at(live.app, case["id"], "toewijzing_interventie", assigned=POLITIE,
                state="offered")
    sign_in_by_keyboard(page, live, person(live.app, POLITIE, "casemanager",
                                           "rechercheur@politie.example"))

    page.goto("/werkruimte/casussen")
    assert accessibility_violations(page) == []
    page.click(f"a[href='/werkruimte/casussen/{case['id']}']")
    assert accessibility_violations(page) == []
    page.screenshot(path=screenshots_dir() / "casus.png", full_page=True)
    start, end = TEST_TODAY + timedelta(days=7), TEST_TODAY + timedelta(days=30)
    page.get_by_label("Uw prioriteit").select_option("hoog")
    page.get_by_label("Geplande start").fill(start.isoformat())
    page.get_by_label("Gepland einde").fill(end.isoformat())
    page.click("button[value=accepteren]")

    page.wait_for_selector(f"text=gepland {start.isoformat()} {EN_DASH} {end.isoformat()}")
    assert "prioriteit hoog · accepted" in page.inner_text("main")
    assert accessibility_violations(page) == []


def test_the_riec_composes_a_meeting_and_sees_the_routing_matrix(
        page: Page, live: LiveGateway) -> None:
    api = live.app.test_client()
    case = create_case(live.app, api)
    put_case_at(live.app, case["id"], "weging_kwalificatie")
    sign_in_by_keyboard(page, live, person(live.app, RIEC, "regie", "voorzitter@riec.example"))

    page.goto("/werkruimte/overleggen")
    assert accessibility_violations(page) == []
    page.fill("#date-1", MEETING_DAY)
    page.check(f"input[name=participants][value='{VLAARDINGEN}']")
    page.check(f"input[name=participants][value='{POLITIE}']")
    page.click("button:has-text('Overleg beleggen')")
    page.wait_for_selector("h2:has-text('Agendapunt toevoegen')")
    page.fill("#title", "Nagelstudio Westwijk")
    page.fill("#question", "Welke aanpak?")
    page.fill("#proposed_decision", "Bestuurlijke aanpak door de gemeente")
    page.click("button:has-text('Op de agenda zetten')")

    page.wait_for_selector("table.workspace-routing")
    assert accessibility_violations(page) == []
    page.screenshot(path=screenshots_dir() / "casusoverleg.png", full_page=True)
    page.click("button:has-text('Agenda publiceren')")
    page.wait_for_selector("h1:has-text('(v1)')")
