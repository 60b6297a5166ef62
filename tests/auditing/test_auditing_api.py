"""The audit read API: who may call what, proofs that verify, isolation, search, CSV, bad input."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import merkle
from audit.models import AuditEntry
from audit.note import key_id, verifier_key
from gateway.auditing import services
from tests.factories import GGD, POLITIE, RIEC, VLAARDINGEN

from .conftest import OTHER_COVENANT, AuditWorld, exchange_event

# The demo registry's made-up OINs (policies/partners.yaml).
OINS = {POLITIE: "99999999000000004000", RIEC: "99999999000000005000",
        GGD: "99999999000000010000"}


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _entries(session: Session, action: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEntry.entry).order_by(AuditEntry.id))
    return [e for e in map(json.loads, rows) if e["action"] == action]


def _search_ids(world: AuditWorld, headers: dict[str, str], **params: str) -> list[str]:
    """GET the search, or POST it when it names a pseudonym (never in a URL)."""
    if "pseudonym" in params:
        response = world.http.post("/v1/audit/events/search", json=params, headers=headers)
    else:
        response = world.get("/v1/audit/events", headers, query_string=params)
    assert response.status_code == 200, response.json
    return [item["event_id"] for item in response.json["items"]]


# --- who may call what -------------------------------------------------------------------

ENDPOINTS: dict[str, Callable[[dict[str, str]], str]] = {
    "checkpoint": lambda ids: "/v1/audit/checkpoint",
    "signed-note": lambda ids: "/v1/audit/checkpoint/signed-note",
    "inclusion": lambda ids: f"/v1/audit/events/{ids['vl_to_riec']}/inclusion-proof",
    "consistency": lambda ids: "/v1/audit/consistency-proof?first=2&second=5",
    "search": lambda ids: "/v1/audit/events",
}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (None, 401),
        (("inbox:read",), 403),
        (("exchange:write", "inbox:read"), 403),
        (("audit:read",), 200),
        (("audit:own",), 200),
    ],
    ids=["no-token", "inbox-only", "partner-without-audit", "audit-read", "audit-own"],
)
def test_scope_matrix(
    world: AuditWorld, seeded: dict[str, str], endpoint: str,
    scopes: tuple[str, ...] | None, status: int,
) -> None:
    # Vlaardingen is the actor of 'vl_to_riec', so audit:own may see its proof.
    headers = None if scopes is None else world.headers(VLAARDINGEN, *scopes)
    response = world.get(ENDPOINTS[endpoint](seeded), headers)
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 401:
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 403:
        assert response.json["type"].endswith("/insufficient-scope")
        assert response.json["missing_scopes"] == ["audit:read", "audit:own"]
        assert 'scope="audit:read audit:own"' in response.headers["WWW-Authenticate"]


def test_a_garbage_token_is_401_not_403(world: AuditWorld, seeded: dict[str, str]) -> None:
    response = world.get("/v1/audit/events", {"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401


def test_public_keys_need_no_token_and_match_the_keyring(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    response = world.get("/v1/audit/public-keys")
    assert response.status_code == 200
    (key,) = response.json["keys"]
    expected = world.keyring.signing_key("audit-checkpoint").public_key()
    loaded = serialization.load_pem_public_key(key["public_key_pem"].encode())
    assert isinstance(loaded, Ed25519PublicKey)
    assert key["key_id"] == key_id(expected) == key_id(loaded)
    assert key["current"] is True
    assert key["first_used_at"] is not None  # the seeded checkpoint used it


def test_public_keys_before_any_checkpoint(world: AuditWorld) -> None:
    (key,) = world.get("/v1/audit/public-keys").json["keys"]
    assert key["current"] is True
    assert key["first_used_at"] is None


# --- checkpoints and proofs verify -------------------------------------------------------

def test_checkpoint_signature_verifies_with_the_published_key(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    headers = world.headers(RIEC, "audit:read")
    checkpoint = world.get("/v1/audit/checkpoint", headers).json
    assert checkpoint["tree_size"] == len(seeded)
    (key,) = world.get("/v1/audit/public-keys").json["keys"]
    public_key = serialization.load_pem_public_key(key["public_key_pem"].encode())
    assert isinstance(public_key, Ed25519PublicKey)
    assert checkpoint["key_id"] == key["key_id"]
    note = checkpoint["note"]
    assert note.splitlines()[1:3] == [str(checkpoint["tree_size"]), checkpoint["root_hash"]]
    public_key.verify(_b64(checkpoint["signature"]), note.encode())  # raises if forged
    forged = note.replace(f"\n{len(seeded)}\n", f"\n{len(seeded) + 1}\n")
    with pytest.raises(InvalidSignature):
        public_key.verify(_b64(checkpoint["signature"]), forged.encode())


def test_the_checkpoint_as_a_signed_note_verifies_with_the_published_verifier_key(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    """Checked as a C2SP witness would: text, blank line, ``— <name> base64(hash4 || sig)``."""
    headers = world.headers(RIEC, "audit:own")
    response = world.get("/v1/audit/checkpoint/signed-note", headers)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text, _, signatures = response.get_data(as_text=True).partition("\n\n")
    (line,) = signatures.splitlines()
    dash, name, blob = line.split(" ")
    signed = _b64(blob)
    origin, size, root, _time = text.split("\n")
    assert (dash, name, int(size)) == ("\u2014", origin, len(seeded))
    assert root == world.get("/v1/audit/checkpoint", headers).json["root_hash"]
    verifier = verifier_key(origin, world.keyring.signing_key("audit-checkpoint").public_key())
    key_name, key_hash, key = verifier.split("+", 2)  # base64 may hold a "+" too
    assert (key_name, signed[:4].hex()) == (origin, key_hash)
    Ed25519PublicKey.from_public_bytes(_b64(key)[1:]).verify(signed[4:], (text + "\n").encode())


def test_checkpoint_is_404_before_the_first_one(world: AuditWorld) -> None:
    response = world.get("/v1/audit/checkpoint", world.headers(RIEC, "audit:read"))
    assert response.status_code == 404
    assert response.json["type"].endswith("/checkpoint-not-found")


def test_every_inclusion_proof_verifies_against_the_signed_root(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    headers = world.headers(RIEC, "audit:read")
    root = _b64(world.get("/v1/audit/checkpoint", headers).json["root_hash"])
    for position, event_id in enumerate(seeded.values()):
        proof = world.get(f"/v1/audit/events/{event_id}/inclusion-proof", headers).json
        assert (proof["leaf_index"], proof["tree_size"]) == (position, len(seeded))
        leaf = _b64(proof["leaf_hash"])
        assert leaf == merkle.leaf_hash(proof["entry"].encode())
        hashes = [_b64(h) for h in proof["hashes"]]
        assert merkle.verify_inclusion(position, len(seeded), leaf, hashes, root)
        assert not merkle.verify_inclusion(position, len(seeded), leaf, hashes, bytes(32))
        assert proof["checkpoint"]["root_hash"] == base64.b64encode(root).decode()


def test_an_inclusion_proof_in_an_older_tree_verifies_against_that_tree(
    world: AuditWorld, seeded: dict[str, str], session: Session
) -> None:
    leaves = list(session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.tree_index)))
    response = world.get(f"/v1/audit/events/{seeded['vl_to_politie_refused']}/inclusion-proof",
                         world.headers(RIEC, "audit:read"), query_string={"tree_size": "3"})
    proof = response.json
    assert response.status_code == 200
    assert proof["checkpoint"] is None  # no checkpoint was signed at size 3
    hashes = [_b64(h) for h in proof["hashes"]]
    assert merkle.verify_inclusion(1, 3, _b64(proof["leaf_hash"]), hashes,
                                   merkle.root_hash(leaves[:3]))


def test_consistency_proof_links_two_signed_checkpoints(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    headers = world.headers(GGD, "audit:own")
    old = world.get("/v1/audit/checkpoint", headers).json
    world.append(exchange_event(GGD, [RIEC], [True], ["ap-x"]),
                 exchange_event(RIEC, [GGD], [True], ["ap-y"]))
    world.sequence()
    new = world.get("/v1/audit/checkpoint", headers).json
    assert new["tree_size"] == old["tree_size"] + 2
    response = world.get("/v1/audit/consistency-proof", headers, query_string={
        "first": old["tree_size"], "second": new["tree_size"]})
    assert response.status_code == 200
    hashes = [_b64(h) for h in response.json["hashes"]]
    assert merkle.verify_consistency(old["tree_size"], new["tree_size"], hashes,
                                     _b64(old["root_hash"]), _b64(new["root_hash"]))
    assert not merkle.verify_consistency(old["tree_size"], new["tree_size"], hashes,
                                         bytes(32), _b64(new["root_hash"]))


def test_a_pending_event_has_no_proof_yet(world: AuditWorld, seeded: dict[str, str]) -> None:
    (pending,) = world.append(exchange_event(VLAARDINGEN, [RIEC], [True], ["ap-z"]))
    response = world.get(f"/v1/audit/events/{pending}/inclusion-proof",
                         world.headers(RIEC, "audit:read"))
    assert response.status_code == 409
    assert response.json["type"].endswith("/audit-event-not-sequenced")
    assert "Retry-After" in response.headers


def test_an_unknown_event_is_404(world: AuditWorld, seeded: dict[str, str]) -> None:
    response = world.get("/v1/audit/events/00000000-0000-4000-8000-000000000000/inclusion-proof",
                         world.headers(RIEC, "audit:read"))
    assert response.status_code == 404
    assert response.json["type"].endswith("/audit-event-not-found")


# --- audit:own isolation -----------------------------------------------------------------

def test_own_search_shows_only_what_the_partner_took_part_in(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    # A refused recipient received nothing and is not told that anyone tried.
    expectations = {
        VLAARDINGEN: ["vl_to_riec", "vl_to_politie_refused"],
        POLITIE: ["politie_to_riec_ggd"],
        GGD: ["ggd_rejected"],
        RIEC: ["vl_to_riec", "politie_to_riec_ggd", "riec_inbox_read"],
    }
    for partner, names in expectations.items():
        found = _search_ids(world, world.headers(partner, "audit:own"))
        assert found == [seeded[name] for name in names], partner


def test_own_access_never_widens_through_a_partner_filter(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    headers = world.headers(RIEC, "audit:own")
    assert _search_ids(world, headers, partner=GGD) == []  # a co-recipient: not shown
    assert _search_ids(world, headers, partner=POLITIE) == [seeded["politie_to_riec_ggd"]]


def test_a_partner_cannot_read_the_proof_of_anothers_entry(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    headers = world.headers(VLAARDINGEN, "audit:own")
    response = world.get(f"/v1/audit/events/{seeded['riec_inbox_read']}/inclusion-proof",
                         headers)
    assert response.status_code == 404  # as absent as an event that never existed
    assert "ap-anna" not in response.get_data(as_text=True)
    recipient = world.get(f"/v1/audit/events/{seeded['politie_to_riec_ggd']}/inclusion-proof",
                          world.headers(RIEC, "audit:own"))
    assert recipient.status_code == 200
    refused = world.get(f"/v1/audit/events/{seeded['politie_to_riec_ggd']}/inclusion-proof",
                        world.headers(GGD, "audit:own"))
    assert refused.status_code == 404


def test_a_recipient_sees_the_senders_oin_and_its_own_but_no_other_recipients(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    response = world.get("/v1/audit/events", world.headers(RIEC, "audit:own"),
                         query_string={"partner": POLITIE})
    [item] = response.json["items"]
    view = item["entry"]

    assert view["actor"] == {"partner": POLITIE, "oin": OINS[POLITIE]}
    assert [(d["recipient"], d["recipient_oin"]) for d in view["decisions"]] == [
        (RIEC, OINS[RIEC])]
    assert OINS[GGD] not in json.dumps(view)  # the refused co-recipient stays unnamed
    sender = world.get("/v1/audit/events", world.headers(POLITIE, "audit:own")).json["items"]
    assert [d["recipient_oin"] for d in sender[0]["entry"]["decisions"]] == [
        OINS[RIEC], OINS[GGD]]


def test_audit_read_sees_everything(world: AuditWorld, seeded: dict[str, str]) -> None:
    assert _search_ids(world, world.headers(GGD, "audit:read")) == list(seeded.values())


# --- the privacy officer's search ----------------------------------------------------------

@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"partner": RIEC}, ["vl_to_riec", "politie_to_riec_ggd", "riec_inbox_read"]),
        ({"action": "exchange.refused"}, ["vl_to_politie_refused"]),
        ({"covenant": OTHER_COVENANT}, ["politie_to_riec_ggd"]),
        ({"decision": "allowed"}, ["vl_to_riec", "politie_to_riec_ggd"]),
        ({"decision": "refused"}, ["vl_to_politie_refused", "politie_to_riec_ggd"]),
        ({"pseudonym": "ap-eva"}, ["vl_to_riec", "politie_to_riec_ggd"]),
        ({"pseudonym": "ap-anna"}, ["riec_inbox_read"]),
        ({"pseudonym": "ap-ev"}, []),
        ({"partner": POLITIE, "decision": "allowed"}, ["politie_to_riec_ggd"]),
    ],
)
def test_search_filters(
    world: AuditWorld, seeded: dict[str, str], params: dict[str, str], names: list[str]
) -> None:
    found = _search_ids(world, world.headers(RIEC, "audit:read"), **params)
    assert found == [seeded[name] for name in names]


def test_partner_filter_is_exact_not_a_substring_or_case_match(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    headers = world.headers(RIEC, "audit:read")
    assert _search_ids(world, headers, partner=RIEC.upper()) == []
    assert _search_ids(world, headers, partner=RIEC[:-1]) == []


def test_search_by_period(world: AuditWorld, seeded: dict[str, str]) -> None:
    headers = world.headers(RIEC, "audit:read")
    now = world.container.clock.now()
    hour = timedelta(hours=1)
    everything = list(seeded.values())
    assert _search_ids(world, headers, **{"from": (now - hour).isoformat()}) == everything
    assert _search_ids(world, headers, **{"from": (now + hour).isoformat()}) == []
    assert _search_ids(world, headers, to=(now - hour).isoformat()) == []
    today = world.container.clock.today()
    around = {"from": (today - timedelta(days=1)).isoformat(),
              "to": (today + timedelta(days=1)).isoformat()}
    # The three searches above were audited and are in the period too.
    assert _search_ids(world, headers, **around) == everything + _search_ids(
        world, headers, action="audit.searched")[:3]


def test_cursor_pagination_walks_every_entry_once(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    headers = world.headers(RIEC, "audit:read")
    params = {"limit": "2"}
    pages = []
    while True:
        body = world.get("/v1/audit/events", headers, query_string=params).json
        pages.append([item["event_id"] for item in body["items"]])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    # Every page read is audited, so later pages also show the earlier searches.
    flat = [event_id for page in pages for event_id in page]
    assert flat[: len(seeded)] == list(seeded.values())
    assert len(flat) == len(set(flat))
    assert all(len(page) <= 2 for page in pages)


def test_search_items_carry_the_entry_and_its_position(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    body = world.get("/v1/audit/events", world.headers(RIEC, "audit:read"),
                     query_string={"action": "inbox.read"}).json
    (item,) = body["items"]
    assert item["event_id"] == seeded["riec_inbox_read"]
    assert item["tree_index"] == 3
    assert item["entry"]["identities_disclosed"] == ["ap-anna"]
    assert body["next_cursor"] is None


def test_every_search_and_proof_read_is_itself_audited(
    world: AuditWorld, seeded: dict[str, str], session: Session
) -> None:
    headers = world.headers(RIEC, "audit:read")
    found = _search_ids(world, headers, pseudonym="ap-eva", format="json")
    world.get(f"/v1/audit/events/{seeded['vl_to_riec']}/inclusion-proof", headers)
    (searched,) = _entries(session, "audit.searched")
    assert searched["actor"]["partner"] == RIEC
    assert searched["access"] == "all"
    assert searched["filters"] == {"pseudonym": "ap-eva"}
    assert searched["event_ids"] == found
    (proof_read,) = _entries(session, "audit.proof_read")
    assert proof_read["event_ids"] == [seeded["vl_to_riec"]]
    assert proof_read["tree_size"] == len(seeded)


def test_checkpoints_and_consistency_proofs_are_not_audited(
    world: AuditWorld, seeded: dict[str, str], session: Session
) -> None:
    headers = world.headers(RIEC, "audit:read")
    world.get("/v1/audit/checkpoint", headers)
    world.get("/v1/audit/consistency-proof?first=1&second=5", headers)
    total = session.scalars(select(AuditEntry.id)).all()
    assert len(total) == len(seeded)


# --- CSV -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("query", "accept"), [({"format": "csv"}, None), ({}, "text/csv")], ids=["param", "accept"]
)
def test_csv_export_of_a_search(
    world: AuditWorld, seeded: dict[str, str], query: dict[str, str], accept: str | None
) -> None:
    headers = world.headers(RIEC, "audit:read")
    if accept:
        headers["Accept"] = accept
    response = world.get("/v1/audit/events", headers, query_string={**query, "partner": GGD})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["event_id"] for row in rows] == [seeded["politie_to_riec_ggd"],
                                                 seeded["ggd_rejected"]]
    first = rows[0]
    assert first["actor_partner"] == POLITIE
    assert first["actor_oin"] == OINS[POLITIE]
    assert first["recipients"] == f"{RIEC} {GGD}"
    assert first["decision"] == "partial"
    assert first["audit_pseudonyms"] == "ap-eva"
    assert json.loads(first["entry"])["covenant"] == OTHER_COVENANT


def test_csv_pages_link_to_the_next(world: AuditWorld, seeded: dict[str, str]) -> None:
    response = world.get("/v1/audit/events", world.headers(RIEC, "audit:read"),
                         query_string={"format": "csv", "limit": "2"})
    target, _, relation = response.headers["Link"].partition(">; ")
    assert relation == 'rel="next"'
    following = world.get(target.removeprefix("<"), world.headers(RIEC, "audit:read"))
    assert following.mimetype == "text/csv"
    first = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    second = list(csv.DictReader(io.StringIO(following.get_data(as_text=True))))
    assert [row["event_id"] for row in first + second] == list(seeded.values())[:4]


def test_csv_cells_cannot_smuggle_spreadsheet_formulas(world: AuditWorld) -> None:
    world.append({"action": "=HYPERLINK(\"http://evil\")", "actor": {"partner": "@x"}})
    response = world.get("/v1/audit/events?format=csv", world.headers(RIEC, "audit:read"))
    (row,) = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert row["action"] == "'=HYPERLINK(\"http://evil\")"
    assert row["actor_partner"] == "'@x"
    assert row["tree_index"] == ""  # not yet sequenced: searchable, not yet provable


# --- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ("/v1/audit/events/{vl_to_riec}/inclusion-proof?tree_size=abc", "/tree_size"),
        ("/v1/audit/events/{vl_to_riec}/inclusion-proof?tree_size=0", "/tree_size"),
        ("/v1/audit/events/{vl_to_riec}/inclusion-proof?tree_size=-1", "/tree_size"),
        ("/v1/audit/events/{vl_to_riec}/inclusion-proof?tree_size=6", "/tree_size"),
        ("/v1/audit/events/{ggd_rejected}/inclusion-proof?tree_size=4", "/tree_size"),
        ("/v1/audit/consistency-proof?second=3", "/first"),
        ("/v1/audit/consistency-proof?first=1", "/second"),
        ("/v1/audit/consistency-proof?first=4&second=3", "/first"),
        ("/v1/audit/consistency-proof?first=1&second=6", "/second"),
        ("/v1/audit/consistency-proof?first=1&second=99999999999999999999", "/second"),
        ("/v1/audit/events?decision=maybe", "/decision"),
        ("/v1/audit/events?from=yesterday", "/from"),
        ("/v1/audit/events?from=2026-11-01T10:00:00", "/from"),
        ("/v1/audit/events?to=2026-13-01", "/to"),
        ("/v1/audit/events?from=2026-11-02&to=2026-11-01", "/to"),
        ("/v1/audit/events?limit=0", "/limit"),
        ("/v1/audit/events?limit=201", "/limit"),
        ("/v1/audit/events?cursor=bm9wZQ", "/cursor"),
        ("/v1/audit/events?format=xml", "/format"),
        ("/v1/audit/events?partnr=politie", "/partnr"),
        ("/v1/audit/events?partner=", "/partner"),
    ],
)
def test_bad_parameters_are_422_with_a_pointer(
    world: AuditWorld, seeded: dict[str, str], path: str, pointer: str
) -> None:
    response = world.get(path.format(**seeded), world.headers(RIEC, "audit:read"))
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert pointer in [error["pointer"] for error in response.json["errors"]]


def test_a_bad_search_changes_nothing(
    world: AuditWorld, seeded: dict[str, str], session: Session
) -> None:
    world.get("/v1/audit/events?limit=0", world.headers(RIEC, "audit:read"))
    assert _entries(session, "audit.searched") == []


def test_being_named_in_an_entry_is_not_taking_part_in_it(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    # The SQL prefilter lets this through (the text holds GGD's id); the exact rule must not.
    world.append({"action": "case.noted", "actor": {"partner": POLITIE, "client": "p"},
                  "note_about": GGD})
    headers = world.headers(GGD, "audit:own")
    assert _search_ids(world, headers, action="case.noted") == []
    assert _search_ids(world, world.headers(RIEC, "audit:read"), action="case.noted")


def test_a_search_stops_at_its_scan_budget_and_hands_back_a_cursor(
    world: AuditWorld, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Entries that name GGD without involving it pass the SQL prefilter and cost budget.
    note = {"action": "case.noted", "actor": {"partner": POLITIE, "client": "p"},
            "note_about": GGD}
    world.append(note, note, note)
    (late,) = world.append(exchange_event(RIEC, [GGD], [True], ["ap-q"]))
    monkeypatch.setattr(services, "SEARCH_SCAN_BUDGET", 3)
    monkeypatch.setattr(services, "SEARCH_BATCH", 2)
    headers = world.headers(RIEC, "audit:read")
    params = {"partner": GGD}
    pages = []
    while True:
        body = world.get("/v1/audit/events", headers, query_string=params).json
        pages.append([item["event_id"] for item in body["items"]])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert [] in pages  # a page that ran out of budget before finding anything
    assert [event_id for page in pages for event_id in page] == [
        seeded["politie_to_riec_ggd"], seeded["ggd_rejected"], late]


def test_a_pseudonym_in_a_search_url_is_refused_and_nothing_is_searched(
    world: AuditWorld, seeded: dict[str, str], session: Session
) -> None:
    response = world.get("/v1/audit/events", world.headers(RIEC, "audit:read"),
                         query_string={"pseudonym": "ap-eva"})

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == ["/pseudonym"]
    assert _entries(session, "audit.searched") == []


@pytest.mark.parametrize(("body", "pointer"), [
    ({"pseudonym": ["ap-eva"]}, "/pseudonym"),
    ({"pseudonym": "ap-eva", "limit": True}, "/limit"),
    ({"pseudonym": "ap-eva", "format": "csv"}, "/format"),
    ({"pseudonym": "ap-eva", "colour": "red"}, "/colour"),
])
def test_a_malformed_posted_search_names_the_field(
    world: AuditWorld, seeded: dict[str, str], body: dict[str, Any], pointer: str
) -> None:
    response = world.http.post("/v1/audit/events/search", json=body,
                               headers=world.headers(RIEC, "audit:read"))

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]


def test_a_posted_search_takes_the_limit_as_a_number(
    world: AuditWorld, seeded: dict[str, str]
) -> None:
    response = world.http.post("/v1/audit/events/search", json={"pseudonym": "ap-eva", "limit": 1},
                               headers=world.headers(RIEC, "audit:read"))

    assert response.status_code == 200
    assert [i["event_id"] for i in response.json["items"]] == [seeded["vl_to_riec"]]
    assert response.json["next_cursor"] is not None
