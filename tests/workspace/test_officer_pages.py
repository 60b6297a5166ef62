"""The privacy officer's pages: who gets 401/403/200, and each page shows what the API's
service gives that officer, with the same audit entries naming the person."""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from audit.witness import Witness
from gateway.workspace.roles import ROLE_SCOPES
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN, bearer
from tests.workspace.factories import form_token, signed_in_client
from tests.workspace.officer import (
    OFFICER,
    REGIONAL_OFFICER,
    append,
    decide,
    queued_reidentification,
    send_victim_signal,
    sequence,
)
from tests.workspace.test_pages import audit_entries

COVENANT_PAGE = "/werkruimte/privacy/convenanten/riec-rr-mensenhandel"
PAGES = ("/werkruimte/privacy/audit", "/werkruimte/privacy/controlepunten",
         "/werkruimte/privacy/getuige", "/werkruimte/privacy/statistieken",
         "/werkruimte/privacy/convenanten", COVENANT_PAGE,
         "/werkruimte/privacy/verwerkingsregister", "/werkruimte/privacy/vier-ogen")
# In the order of PAGES: the audit pages need audit:read or audit:own, the statistics
# statistics:read (the region's officer only), the four-eyes queue reidentify.
MATRIX = {
    "medewerker": (403,) * 8,
    "casemanager": (403,) * 8,
    "regie": (403,) * 8,
    "voorzitter": (403,) * 8,
    OFFICER: (200, 200, 200, 403, 200, 200, 200, 200),
    REGIONAL_OFFICER: (200,) * 8,
}
ROLE_PARTNER = {"regie": RIEC, "voorzitter": RIEC, REGIONAL_OFFICER: RIEC}
DATA_BLOCK = re.compile(r'<script type="application/json" id="bewijs">(.*?)</script>', re.S)


def exchange(actor: str, recipient: str, pseudonym: str, **extra: Any) -> dict[str, Any]:
    return {"action": "exchange.delivered", "actor": {"partner": actor, "client": f"{actor}-c"},
            "covenant": "riec-rr-mensenhandel", "recipients": [recipient],
            "subjects": [{"role": "slachtoffer", "audit_pseudonym": pseudonym}],
            "decisions": [{"recipient": recipient, "allowed": True}], **extra}


def proof_data(page: str) -> dict[str, Any]:
    found = DATA_BLOCK.search(page)
    assert found, "the page carries no proof data"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def note_parts(note: str) -> tuple[int, bytes]:
    lines = note.split("\n")
    return int(lines[1]), base64.b64decode(lines[2])


@pytest.mark.parametrize("path", PAGES)
def test_nobody_signed_in_gets_401_on_every_officer_page(http: FlaskClient, path: str) -> None:
    assert http.get(path).status_code == 401


@pytest.mark.parametrize("role", MATRIX)
def test_each_role_opens_exactly_the_officer_pages_its_scopes_allow(gateway_app: Flask,
                                                                    role: str) -> None:
    client, _ = signed_in_client(gateway_app, ROLE_PARTNER.get(role, VLAARDINGEN), role)

    assert tuple(client.get(path).status_code for path in PAGES) == MATRIX[role]


def test_the_officer_roles_hold_the_scopes_of_the_api_clients() -> None:
    assert ROLE_SCOPES[REGIONAL_OFFICER] >= {"audit:read", "statistics:read"}
    assert "audit:read" not in ROLE_SCOPES[OFFICER]
    assert "audit:own" in ROLE_SCOPES[OFFICER]


def test_a_partners_officer_finds_only_what_its_partner_took_part_in(gateway_app: Flask
                                                                     ) -> None:
    own, foreign = append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-eva"),
                          exchange(POLITIE, GGD, "ap-piet"))
    client, someone = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    page = client.get("/werkruimte/privacy/audit").get_data(as_text=True)

    assert own[:8] not in page or "ap-eva" not in page  # the sender is shown roles only
    assert foreign[:8] not in page
    searched = [e for e in audit_entries(gateway_app) if e["action"] == "audit.searched"]
    assert searched[-1]["actor"]["person"] == someone.id
    assert searched[-1]["access"] == "own"


def test_the_regional_officer_searches_by_pseudonym_in_a_posted_form(gateway_app: Flask
                                                                     ) -> None:
    wanted, other = append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-eva"),
                           exchange(POLITIE, RIEC, "ap-piet"))
    client, someone = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.post("/werkruimte/privacy/audit", data={
        "csrf_token": form_token(client, "/werkruimte/privacy/audit"), "pseudonym": "ap-eva"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"/werkruimte/privacy/audit/{wanted}" not in page  # not sequenced yet
    assert wanted[:8] not in page or other[:8] not in page
    searched = [e for e in audit_entries(gateway_app) if e["action"] == "audit.searched"]
    assert searched[-1]["filters"] == {"pseudonym": "ap-eva"}
    assert searched[-1]["event_ids"] == [wanted]
    assert searched[-1]["actor"]["person"] == someone.id


def test_a_partners_officer_may_not_search_by_pseudonym(gateway_app: Flask) -> None:
    append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-eva"))
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    response = client.post("/werkruimte/privacy/audit", data={
        "csrf_token": form_token(client, "/werkruimte/privacy/audit"), "pseudonym": "ap-eva"})

    assert response.status_code == 403
    assert not [e for e in audit_entries(gateway_app) if e["action"] == "audit.searched"
                and "pseudonym" in e["filters"]]


def test_a_bad_filter_is_shown_at_its_field_and_searches_nothing(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.get("/werkruimte/privacy/audit?from=gisteren")

    assert response.status_code == 422
    assert 'id="from-fout"' in response.get_data(as_text=True)
    assert not [e for e in audit_entries(gateway_app) if e["action"] == "audit.searched"]


def test_search_pages_on_with_the_cursor(gateway_app: Flask) -> None:
    append(gateway_app, *[exchange(VLAARDINGEN, RIEC, f"ap-{n}") for n in range(3)])
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    first = client.get("/werkruimte/privacy/audit?action=exchange.delivered&limit=2"
                       ).get_data(as_text=True)
    link = re.search(r'href="(/werkruimte/privacy/audit\?[^"]*cursor=[^"]+)"', first)
    assert link, "no next page"
    second = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)

    assert first.count("nog niet in de boom opgenomen") == 2
    assert second.count("nog niet in de boom opgenomen") == 1


def test_the_csv_download_is_the_apis_csv_with_the_pseudonym_column(gateway_app: Flask) -> None:
    event_id, = append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-eva"))
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.get("/werkruimte/privacy/audit?action=exchange.delivered&format=csv")

    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["event_id"], r["audit_pseudonyms"]) for r in rows] == [(event_id, "ap-eva")]


def test_the_entry_page_carries_what_the_browser_needs_to_verify_it(gateway_app: Flask) -> None:
    event_id, = append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-eva"))
    sequence(gateway_app)
    client, someone = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.get(f"/werkruimte/privacy/audit/{event_id}")

    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    data = proof_data(response.get_data(as_text=True))
    size, root = note_parts(data["signed_note"])
    leaf = leaf_hash(data["entry"].encode())
    assert size == data["tree_size"]
    assert verify_inclusion(data["leaf_index"], size, leaf,
                            [base64.b64decode(h) for h in data["hashes"]], root)
    read = [e for e in audit_entries(gateway_app) if e["action"] == "audit.proof_read"]
    assert read[-1]["event_ids"] == [event_id]
    assert read[-1]["actor"]["person"] == someone.id


def test_a_partners_officer_gets_no_proof_of_an_entry_it_took_no_part_in(gateway_app: Flask
                                                                         ) -> None:
    foreign, own = append(gateway_app, exchange(POLITIE, GGD, "ap-piet"),
                          exchange(VLAARDINGEN, RIEC, "ap-eva"))
    sequence(gateway_app)
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    assert client.get(f"/werkruimte/privacy/audit/{foreign}").status_code == 404
    shown = client.get(f"/werkruimte/privacy/audit/{own}")
    assert shown.status_code == 200
    assert proof_data(shown.get_data(as_text=True))["entry"] is None  # its view, not the text


def test_the_checkpoint_history_carries_consistency_proofs_between_successive_checkpoints(
        gateway_app: Flask) -> None:
    for round_ in range(3):
        append(gateway_app, *[exchange(VLAARDINGEN, RIEC, f"ap-{round_}-{n}")
                              for n in range(round_ + 2)])
        sequence(gateway_app)
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    data = proof_data(client.get("/werkruimte/privacy/controlepunten").get_data(as_text=True))

    heads = [note_parts(c["signed_note"]) for c in data["checkpoints"]]
    assert [size for size, _ in heads] == sorted((size for size, _ in heads), reverse=True)
    assert len(heads) >= 3
    for (newer, older), checkpoint in zip(itertools.pairwise(heads), data["checkpoints"],
                                          strict=False):
        proof = [base64.b64decode(h) for h in checkpoint["consistency_with_previous"]]
        assert verify_consistency(older[0], newer[0], proof, older[1], newer[1])


def witness_state(app: Flask, client: FlaskClient, tmp_path: Path) -> str:
    """The state file ``python -m audit.witness`` leaves, made by the real witness."""
    headers = {"Authorization": bearer_for_audit(app)}
    witness = Witness(tmp_path / "witness.json",
                      lambda path: client.get(path, headers=headers).json)
    witness.check()
    return (tmp_path / "witness.json").read_text(encoding="utf-8")


def bearer_for_audit(app: Flask) -> str:
    return bearer(app, RIEC, ("audit:read",))["Authorization"]


def test_the_witness_status_proves_the_latest_checkpoint_extends_what_the_witness_saw(
        gateway_app: Flask, http: FlaskClient, tmp_path: Path) -> None:
    append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-eva"))
    sequence(gateway_app)
    state = witness_state(gateway_app, http, tmp_path)
    append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-anna"), exchange(POLITIE, RIEC, "ap-x"))
    sequence(gateway_app)
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.post("/werkruimte/privacy/getuige", data={
        "csrf_token": form_token(client, "/werkruimte/privacy/getuige"), "state": state})

    assert response.status_code == 200
    data = proof_data(response.get_data(as_text=True))
    seen = data["witnessed"]
    latest_size, latest_root = note_parts(data["signed_note"])
    assert verify_consistency(seen["tree_size"], latest_size,
                              [base64.b64decode(h) for h in data["hashes"]],
                              base64.b64decode(seen["root_hash"]), latest_root)
    assert data["witness_keys"] == json.loads(state)["public_keys"]


def test_a_log_smaller_than_what_the_witness_saw_is_called_a_rollback(
        gateway_app: Flask, http: FlaskClient, tmp_path: Path) -> None:
    append(gateway_app, exchange(VLAARDINGEN, RIEC, "ap-eva"))
    sequence(gateway_app)
    state = json.loads(witness_state(gateway_app, http, tmp_path))
    state["checkpoint"]["tree_size"] += 100  # what a log rolled back by 100 entries shows
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.post("/werkruimte/privacy/getuige", data={
        "csrf_token": form_token(client, "/werkruimte/privacy/getuige"),
        "state": json.dumps(state)})

    assert response.status_code == 422
    assert "teruggedraaid" in response.get_data(as_text=True)


@pytest.mark.parametrize("state", ["", "{}", "not json", json.dumps(
    {"format": "ketenpoort-witness/1", "checkpoint": {"tree_size": -1}, "public_keys": []})])
def test_what_is_no_witness_state_is_refused_at_the_field(gateway_app: Flask,
                                                          state: str) -> None:
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.post("/werkruimte/privacy/getuige", data={
        "csrf_token": form_token(client, "/werkruimte/privacy/getuige"), "state": state})

    assert response.status_code == 422
    assert 'aria-describedby="state-fout"' in response.get_data(as_text=True)


def test_the_statistics_page_draws_the_services_cells_as_svg_and_audits_the_view(
        gateway_app: Flask, http: FlaskClient) -> None:
    for _ in range(6):
        send_victim_signal(gateway_app, http, step="detectie")
    send_victim_signal(gateway_app, http, step="dossiervorming")
    client, someone = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    page = client.get("/werkruimte/privacy/statistieken").get_data(as_text=True)

    assert "<svg" in page
    assert "&lt;5" in page
    assert ">6</text>" in page  # the six detectie signals, shown
    assert "Eva" not in page
    assert "Jansen" not in page
    read = [e for e in audit_entries(gateway_app) if e["action"] == "statistics.read"]
    assert read[-1]["actor"]["person"] == someone.id
    rows = list(csv.reader(io.StringIO(client.get(
        "/werkruimte/privacy/statistieken?format=csv").get_data(as_text=True))))
    assert rows[0] == ["table", "month", "value", "count"]
    assert ["signals_by_step", rows[1][1], "detectie", "6"] in rows
    assert ["signals_by_step", rows[1][1], "dossiervorming", "<5"] in rows


def test_a_bad_month_is_shown_at_its_field(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = client.get("/werkruimte/privacy/statistieken?from=januari")

    assert response.status_code == 422
    assert 'id="from-fout"' in response.get_data(as_text=True)


def test_the_covenant_page_shows_who_may_see_what_per_step(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    detectie = client.get(f"{COVENANT_PAGE}?stap=detectie").get_data(as_text=True)
    uitvoering = client.get(f"{COVENANT_PAGE}?stap=uitvoering").get_data(as_text=True)

    # At detectie only the RIEC receives, pseudonymised; at uitvoering the assigned partner
    # receives identities.
    assert "workspace-sight--identified" not in detectie
    assert "workspace-sight--pseudonym" in detectie
    assert "workspace-sight--identified" in uitvoering
    assert "gemeente-vlaardingen" in detectie


def test_the_explain_form_gives_the_policys_decision(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)
    token = form_token(client, COVENANT_PAGE)

    allowed = client.post(COVENANT_PAGE, data={
        "csrf_token": token, "provider": GGD, "recipient": RIEC, "stap": "detectie",
        "category": ["gezondheid"]}).get_data(as_text=True)
    refused = client.post(COVENANT_PAGE, data={
        "csrf_token": token, "provider": GGD, "recipient": POLITIE, "stap": "detectie",
        "category": ["gezondheid"]}).get_data(as_text=True)

    assert "toegestaan" in allowed
    assert "ggd-gezondheid-naar-riec" in allowed
    assert "geweigerd" in refused


def test_the_processing_register_lists_each_category_with_basis_recipients_and_retention(
        gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    page = client.get("/werkruimte/privacy/verwerkingsregister").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/werkruimte/privacy/verwerkingsregister?format=csv").get_data(as_text=True))))

    health = next(r for r in rows if r["covenant"] == "riec-rr-mensenhandel"
                  and r["category"] == "gezondheid")
    assert health["special_category"] == "art9"
    assert health["providers"] == GGD
    assert health["recipients"] == RIEC
    assert "AVG art. 9" in health["legal_basis"]
    assert "60 maanden" in health["retention"]
    assert "Gezondheidsgegevens" in page


def test_the_four_eyes_queue_approves_as_the_api_does_and_names_the_person(
        gateway_app: Flask, http: FlaskClient) -> None:
    waiting = queued_reidentification(gateway_app, http)
    client, someone = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)
    elsewhere, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    page = client.get("/werkruimte/privacy/vier-ogen").get_data(as_text=True)
    assert waiting in page
    assert "Eva" not in page
    assert waiting not in elsewhere.get("/werkruimte/privacy/vier-ogen").get_data(as_text=True)
    response = decide(client, waiting, "goedkeuren")

    assert response.status_code == 303
    assert waiting not in client.get("/werkruimte/privacy/vier-ogen").get_data(as_text=True)
    approved = [e for e in audit_entries(gateway_app)
                if e["action"] == "reidentification.approved"]
    assert approved[-1]["actor"]["person"] == someone.id


def test_the_four_eyes_queue_denies_as_the_api_does(gateway_app: Flask,
                                                    http: FlaskClient) -> None:
    waiting = queued_reidentification(gateway_app, http)
    client, someone = signed_in_client(gateway_app, RIEC, REGIONAL_OFFICER)

    response = decide(client, waiting, "afwijzen")

    assert response.status_code == 303
    denied = [e for e in audit_entries(gateway_app) if e["action"] == "reidentification.denied"]
    assert denied[-1]["actor"]["person"] == someone.id
    again = decide(client, waiting, "goedkeuren")
    assert again.status_code == 409
    assert "reidentification.approved" not in [e["action"] for e in audit_entries(gateway_app)]


def test_another_partners_officer_cannot_approve(gateway_app: Flask, http: FlaskClient) -> None:
    waiting = queued_reidentification(gateway_app, http)
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    response = decide(client, waiting, "goedkeuren")

    assert response.status_code == 404
    assert not [e for e in audit_entries(gateway_app)
                if e["action"] == "reidentification.approved"]


def test_the_covenant_page_marks_what_only_the_case_manager_may_see(gateway_app: Flask) -> None:
    client, _ = signed_in_client(gateway_app, VLAARDINGEN, OFFICER)

    evaluatie = client.get(f"{COVENANT_PAGE}?stap=evaluatie").get_data(as_text=True)

    # evaluatie-casusregie: the municipalities' pseudonymised cells hold only for the case
    # manager; the grant says so in words.
    assert "workspace-sight--pseudonym\">gepseudonimiseerd†</td>" in evaluatie
    assert "Alleen aan de casusregisseur van de casus." in evaluatie
