"""Attacks on the privacy officer's pages: a forged approval from another site, a pseudonym
that would end up in an address (browser history, access log, Referer), a spreadsheet formula
planted in the log, and a partner's case manager reaching for the officer's powers."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.db import transaction
from gateway.identity.models import Reidentification
from tests.factories import POLITIE, RIEC, VLAARDINGEN
from tests.workspace.factories import form_token, signed_in_client
from tests.workspace.officer import (
    OFFICER,
    REGIONAL_OFFICER,
    append,
    container_of,
    queued_reidentification,
    sequence,
)
from tests.workspace.test_pages import audit_entries

SEARCH = "/werkruimte/privacy/audit"
PSEUDONYM = "ap-zoekterm-7f3a"
ADDRESSES = re.compile(r'(?:href|action|src)="([^"]*)"')


def status_of(app: Flask, reidentification_id: str) -> str:
    with transaction(container_of(app).session_factory) as session:
        row = session.get(Reidentification, reidentification_id)
        assert row is not None
        return row.status


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["no-token", "forged-token"])
def test_an_approval_forged_from_another_site_approves_nothing(
        gateway_app: Flask, http: FlaskClient, token: str | None) -> None:
    """CSRF: the officer's browser carries the session cookie to a form another site posts;
    without the page's own form token the approval is refused and the request stays pending."""
    waiting = queued_reidentification(gateway_app, http)
    officer, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)
    officer.get("/werkruimte/privacy/vier-ogen")  # a form cookie exists, as in a real browser

    response = officer.post(f"/werkruimte/privacy/vier-ogen/{waiting}/goedkeuren",
                            data={} if token is None else {"csrf_token": token})

    assert response.status_code == 400
    assert status_of(gateway_app, waiting) == "pending"
    assert "reidentification.approved" not in [e["action"] for e in audit_entries(gateway_app)]


def test_a_partners_case_manager_cannot_approve_even_with_a_valid_form_token(
        gateway_app: Flask, http: FlaskClient) -> None:
    waiting = queued_reidentification(gateway_app, http)
    manager, _ = signed_in_client(gateway_app, RIEC, "regie")

    response = manager.post(f"/werkruimte/privacy/vier-ogen/{waiting}/goedkeuren",
                            data={"csrf_token": form_token(manager, "/werkruimte/")})

    assert response.status_code == 403
    assert status_of(gateway_app, waiting) == "pending"


def test_a_pseudonym_in_the_address_is_refused_and_searches_nothing(gateway_app: Flask) -> None:
    append(gateway_app, _exchange(PSEUDONYM))
    officer, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = officer.get(f"{SEARCH}?pseudonym={PSEUDONYM}")

    assert response.status_code == 422
    assert [e for e in audit_entries(gateway_app)
            if e["action"] == "audit.searched" and "pseudonym" in e["filters"]] == []


def test_a_pseudonym_search_never_puts_the_pseudonym_in_an_address(gateway_app: Flask) -> None:
    """Paging and CSV of a pseudonym search are POSTed too: no link, form target, redirect or
    requested URL of the whole flow carries the pseudonym (so no access log line does)."""
    append(gateway_app, *[_exchange(PSEUDONYM) for _ in range(3)])
    sequence(gateway_app)
    officer, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)
    token = form_token(officer, SEARCH)

    first = officer.post(SEARCH, data={"csrf_token": token, "pseudonym": PSEUDONYM,
                                       "limit": "2"})
    page = first.get_data(as_text=True)
    cursor = re.search(r'name="cursor" value="([^"]+)"', page)
    assert cursor, "a second page is offered as a form"
    second = officer.post(SEARCH, data={"csrf_token": token, "pseudonym": PSEUDONYM,
                                        "limit": "2", "cursor": cursor.group(1)})
    exported = officer.post(SEARCH, data={"csrf_token": token, "pseudonym": PSEUDONYM,
                                          "format": "csv"})

    responses = [first, second, exported]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert PSEUDONYM in exported.get_data(as_text=True)  # the officer does get the result
    for response in responses:
        assert PSEUDONYM not in response.request.url
        assert PSEUDONYM not in response.headers.get("Location", "")
        addresses = ADDRESSES.findall(response.get_data(as_text=True))
        assert [a for a in addresses if PSEUDONYM in a] == []
    assert first.headers["Referrer-Policy"] == "no-referrer"


def test_a_formula_planted_in_the_log_is_inert_in_the_csv(gateway_app: Flask) -> None:
    """A partner chooses some text of its own entries; a spreadsheet must not run it."""
    append(gateway_app, _exchange("ap-x", covenant='=HYPERLINK("https://evil.example","klik")',
                                  action="+exchange.delivered"))
    officer, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = officer.get(f"{SEARCH}?format=csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    planted = next(r for r in rows if "HYPERLINK" in r["covenant"])
    assert planted["covenant"].startswith("'=")
    assert planted["action"].startswith("'+")
    assert all(not value.startswith(("=", "+", "-", "@")) for row in rows
               for value in row.values())


def _exchange(pseudonym: str, covenant: str = "riec-rr-mensenhandel",
              action: str = "exchange.delivered") -> dict[str, Any]:
    return {"action": action, "actor": {"partner": VLAARDINGEN, "client": "vl-c"},
            "covenant": covenant, "recipients": [RIEC],
            "subjects": [{"role": "slachtoffer", "audit_pseudonym": pseudonym}],
            "decisions": [{"recipient": RIEC, "allowed": True}]}


def test_another_partners_officer_cannot_decide_a_reidentification(
        gateway_app: Flask, http: FlaskClient) -> None:
    """IDOR: the RIEC's request waits for a second RIEC person; Vlaardingen's privacy officer
    (who holds ``reidentify`` for its own partner) posts the decision with a valid form token."""
    waiting = queued_reidentification(gateway_app, http)
    outsider, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)
    listed = outsider.get("/werkruimte/privacy/vier-ogen")
    assert listed.status_code == 200
    assert waiting not in listed.get_data(as_text=True)

    for decision in ("goedkeuren", "afwijzen"):
        response = outsider.post(f"/werkruimte/privacy/vier-ogen/{waiting}/{decision}",
                                 data={"csrf_token": form_token(outsider, "/werkruimte/")})
        assert response.status_code in {403, 404}, decision
    assert status_of(gateway_app, waiting) == "pending"


def test_a_partners_officer_gets_no_entry_page_of_an_event_it_took_no_part_in(
        gateway_app: Flask) -> None:
    """IDOR: event ids are in the regional officer's links; a partner's officer (``audit:own``)
    who learns one gets the same 404 as for an id that does not exist, and its own entries
    show the partner's view, not the hashed text naming audit pseudonyms."""
    foreign, own = append(gateway_app, {**_exchange(PSEUDONYM),
                                        "actor": {"partner": POLITIE, "client": "po-c"}},
                          _exchange("ap-eigen-4c1d"))
    sequence(gateway_app)
    officer, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    missing = officer.get("/werkruimte/privacy/audit/00000000-0000-4000-8000-000000000000")
    stolen = officer.get(f"/werkruimte/privacy/audit/{foreign}")
    mine = officer.get(f"/werkruimte/privacy/audit/{own}")

    assert stolen.status_code == missing.status_code == 404
    assert PSEUDONYM not in stolen.get_data(as_text=True)
    assert mine.status_code == 200
    assert "ap-eigen-4c1d" not in mine.get_data(as_text=True)
