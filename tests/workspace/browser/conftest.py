"""A real gateway on a free loopback port, and Debian's chromium driven by Playwright.

The gateway runs in a thread of the test process on an instance of its own (``ketenpoort
init`` on a SQLite file), with a manual product clock, so the tests type the TOTP codes an
authenticator app would show at that moment.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.instance import initialise
from gateway.settings import Settings
from tests.conftest import TEST_MORNING

CHROMIUM = os.environ.get("KETENPOORT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def screenshots_dir() -> Path:
    """Where the tests leave screenshots of the main pages (the README shows them)."""
    folder = Path(os.environ.get("KETENPOORT_TEST_SCREENSHOTS",
                                 Path(tempfile.gettempdir()) / "ketenpoort-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class LiveGateway:
    app: Flask
    clock: ManualClock
    # localhost, not 127.0.0.1: browsers keep Secure cookies over plain http on localhost only.
    base_url: str


@contextmanager
def serving(settings: Settings, clock: ManualClock) -> Iterator[LiveGateway]:
    """``ketenpoort init`` on the settings' instance, then the app on a free loopback port."""
    initialise(settings)
    app = create_app(settings, clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveGateway(app, clock, f"http://localhost:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, test_policies_path: Path
         ) -> Iterator[LiveGateway]:
    # No sequencer runs beside this server, and the tests move its clock on (sign-in windows,
    # idle sessions): a lag limit of a day keeps the audit gate from refusing the later tests.
    settings = Settings(instance_path=tmp_path_factory.mktemp("browser") / "instance",
                        policies_path=test_policies_path, audit_max_lag_seconds=86_400)
    with serving(settings, ManualClock(TEST_MORNING)) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live: LiveGateway) -> Iterator[Page]:
    # The pages' CSP allows no script at all; axe is injected from outside, so bypass it here.
    context = browser.new_context(base_url=live.base_url, bypass_csp=True, locale="nl-NL")
    yield context.new_page()
    context.close()


def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA)
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]]
