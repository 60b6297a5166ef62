"""Attacks on the access log: a curious partner (``audit:own``) and an operator with DB access.

Each test plays the attacker through documented API calls (real tokens, the real app) or,
for the operator, straight SQL, and asserts the attack fails. The partner's goal throughout is
the gateway-wide audit pseudonym of a person it received only pseudonymised: with it, a
refused exchange naming candidate BSNs, another partner's view, or the pseudonym search
filter would tell it who the person is.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from audit.log import CheckpointSigner, Sequencer
from audit.models import AuditEntry
from gateway.auditing.cli import audit_commands
from gateway.identity.models import Subject
from tests.factories import EVA, POLITIE, RIEC, VLAARDINGEN, bearer, exchange_body, item

PARTNER_SCOPES = ("exchange:write", "inbox:read", "audit:own")
# Text an attacker chooses and wants to see kept forever in the append-only log.
MARKERS = ("Eva Jansen 1999-04-02", "Jansen", "1999-04-02", "111222333", "Eva")


def valid_bsns(count: int) -> list[str]:
    """The first ``count`` nine-digit numbers passing the elfproef (a dictionary of BSNs)."""
    found = []
    for number in itertools.count(100_000_000):
        digits = [int(d) for d in str(number)]
        weighted = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
        if (weighted - digits[8]) % 11 == 0:
            found.append(str(number))
            if len(found) == count:
                return found
    raise AssertionError("unreachable")


def send(app: Flask, headers: dict[str, str], body: Any, **extra: Any) -> Any:
    return app.test_client().post("/v1/exchanges", json=body, headers=headers, **extra)


def seal(app: Flask, keyring: Any) -> None:
    container = app.extensions["ketenpoort"]
    signer = CheckpointSigner(keyring.signing_key("audit-checkpoint"))
    Sequencer(container.session_factory, signer).run_once()


def everything_readable(app: Flask, headers: dict[str, str]) -> str:
    """All an audit:own reader can fetch: every search page (JSON and CSV), every single
    event's inclusion proof, the checkpoint; concatenated."""
    http: Any = app.test_client()
    texts, event_ids = [], []
    cursor: str | None = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = http.get("/v1/audit/events", headers=headers, query_string=params)
        assert page.status_code == 200, page.json
        texts.append(page.get_data(as_text=True))
        event_ids += [entry["event_id"] for entry in page.json["items"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    texts.append(http.get("/v1/audit/events", headers=headers,
                          query_string={"format": "csv", "limit": "200"}).get_data(as_text=True))
    for event_id in event_ids:
        proof = http.get(f"/v1/audit/events/{event_id}/inclusion-proof", headers=headers)
        if proof.status_code == 200:  # the last few reads may not be sealed yet
            texts.append(proof.get_data(as_text=True))
    texts.append(http.get("/v1/audit/checkpoint", headers=headers).get_data(as_text=True))
    return "\n".join(texts)


def audit_pseudonyms_known(app: Flask, connection: Connection) -> dict[str, str]:
    """Subject id -> audit pseudonym, for every person in the vault (the test's knowledge)."""
    vault = app.extensions["ketenpoort"].vault
    return {sid: vault.audit_pseudonym(sid)
            for sid in connection.execute(select(Subject.id)).scalars()}


def inbox_pseudonyms(app: Flask, headers: dict[str, str]) -> set[str]:
    http: Any = app.test_client()
    inbox = http.get("/v1/inbox", headers=headers)
    assert inbox.status_code == 200
    return {s["pseudonym"] for d in inbox.json["items"] for s in d["subjects"]}


@pytest.fixture
def riec(gateway_app: Flask) -> dict[str, str]:
    return bearer(gateway_app, RIEC, PARTNER_SCOPES)


@pytest.fixture
def vlaardingen(gateway_app: Flask) -> dict[str, str]:
    return bearer(gateway_app, VLAARDINGEN, PARTNER_SCOPES)


@pytest.fixture
def politie(gateway_app: Flask) -> dict[str, str]:
    return bearer(gateway_app, POLITIE, PARTNER_SCOPES)


@pytest.fixture
def eva_received_by_riec(gateway_app: Flask, vlaardingen: dict[str, str]) -> None:
    """Vlaardingen signals Eva to the RIEC; at detectie the RIEC gets her pseudonymised."""
    assert send(gateway_app, vlaardingen, exchange_body()).status_code == 201


def test_a_refused_exchange_naming_200_bsns_is_no_audit_pseudonym_oracle(
    gateway_app: Flask, connection: Connection, keyring: Any, riec: dict[str, str],
    eva_received_by_riec: None,
) -> None:
    (eva_pseudonym,) = inbox_pseudonyms(gateway_app, riec)
    # The RIEC names 200 BSNs, Eva's among them, to a recipient no grant allows at detectie.
    candidates = [*valid_bsns(199), EVA["bsn"]]
    body = exchange_body(recipients=[POLITIE], subjects=[
        {"ref": f"c{n}", "role": "slachtoffer", "identifiers": {"bsn": bsn}}
        for n, bsn in enumerate(candidates)
    ], items=[item("uitbuitingssignalen", "c0")])
    refused = send(gateway_app, riec, body)
    assert refused.status_code == 403
    seal(gateway_app, keyring)
    readable = everything_readable(gateway_app, riec)
    assert eva_pseudonym in readable  # its own pseudonym it may see ...
    eva_audit = gateway_app.extensions["ketenpoort"].vault.audit_pseudonym_for(EVA)
    assert eva_audit not in readable  # ... but nothing to match a candidate against
    assert "audit_pseudonym" not in readable
    # Nor did the gateway keep the 200 persons it never accepted: counts only.
    stored = json.loads(connection.execute(select(AuditEntry.entry).where(
        AuditEntry.event_id == refused.json["audit_event_id"])).scalar_one())
    assert stored["subjects"] == []
    assert stored["subjects_not_accepted"] == 200


def test_two_partners_cannot_join_their_pseudonyms_through_the_log(
    gateway_app: Flask, connection: Connection, keyring: Any, riec: dict[str, str],
    vlaardingen: dict[str, str], politie: dict[str, str],
) -> None:
    # The RIEC shares Eva pseudonymised with both, then once more with identity "none".
    for step, category in (("weging_kwalificatie", "uitbuitingssignalen"),
                           ("evaluatie", "interventie")):
        body = exchange_body(process_step=step, recipients=[VLAARDINGEN, POLITIE],
                             items=[item(category)])
        assert send(gateway_app, riec, body).status_code == 201
    seal(gateway_app, keyring)
    views = {name: everything_readable(gateway_app, headers)
             for name, headers in (("vlaardingen", vlaardingen), ("politie", politie))}
    own = {"vlaardingen": inbox_pseudonyms(gateway_app, vlaardingen),
           "politie": inbox_pseudonyms(gateway_app, politie)}
    assert own["vlaardingen"]
    assert own["politie"]
    assert not own["vlaardingen"] & own["politie"]
    person_keys = [k for pair in audit_pseudonyms_known(gateway_app, connection).items()
                   for k in pair]
    for name, readable in views.items():
        # Shown: its own pseudonym; never a key the other partner's view also carries.
        assert all(p in readable for p in own[name]), name
        assert [k for k in person_keys if k in readable] == [], name
        other = "politie" if name == "vlaardingen" else "vlaardingen"
        assert not [p for p in own[other] if p in readable], name


SEARCH = "/v1/audit/events/search"


def test_a_dictionary_attack_on_the_pseudonym_filter_is_refused(
    gateway_app: Flask, riec: dict[str, str], eva_received_by_riec: None
) -> None:
    eva_audit = gateway_app.extensions["ketenpoort"].vault.audit_pseudonym_for(EVA)
    http: Any = gateway_app.test_client()
    for guess in (eva_audit, "ap-0000", eva_audit.upper()):
        answer = http.post(SEARCH, headers=riec, json={"pseudonym": guess})
        assert answer.status_code == 403, guess
        assert answer.mimetype == "application/problem+json"
        assert eva_audit not in answer.get_data(as_text=True)
        in_url = http.get("/v1/audit/events", headers=riec, query_string={"pseudonym": guess})
        assert in_url.status_code == 422, guess
        assert eva_audit not in in_url.get_data(as_text=True)
    officer = bearer(gateway_app, RIEC, ("audit:read",))
    found = http.post(SEARCH, headers=officer, json={"pseudonym": eva_audit})
    assert found.status_code == 200
    assert found.json["items"]


def test_a_recipient_cannot_read_the_other_recipients_decisions(
    gateway_app: Flask, keyring: Any, riec: dict[str, str], vlaardingen: dict[str, str],
) -> None:
    # Criminal-law data goes to the police only; the municipality gets the signal.
    body = exchange_body(process_step="weging_kwalificatie", recipients=[VLAARDINGEN, POLITIE],
                         items=[item("uitbuitingssignalen"), item("strafrechtelijk")])
    sent = send(gateway_app, riec, body)
    assert sent.status_code == 201
    seal(gateway_app, keyring)
    http: Any = gateway_app.test_client()
    proof = http.get(f"/v1/audit/events/{sent.json['audit_event_id']}/inclusion-proof",
                     headers=vlaardingen)
    assert proof.status_code == 200
    view = proof.json["view"]
    assert proof.json["entry"] is None  # the hashed text names audit pseudonyms
    assert [d["recipient"] for d in view["decisions"]] == [VLAARDINGEN]
    assert view["recipients"] == [VLAARDINGEN]
    as_text = json.dumps(view)
    for leak in (POLITIE, "strafrechtelijk", "bundle_hash", "categories_withheld"):
        assert leak not in as_text, leak
    searched = http.get("/v1/audit/events", headers=vlaardingen,
                        query_string={"partner": POLITIE}).json["items"]
    assert searched == []  # nor does a filter on the co-recipient find the entry


def test_translation_and_identified_reads_never_echo_the_audit_pseudonym(
    gateway_app: Flask, connection: Connection, keyring: Any, riec: dict[str, str],
    vlaardingen: dict[str, str],
) -> None:
    body = exchange_body(process_step="dossiervorming")  # the RIEC gets Eva identified
    assert send(gateway_app, vlaardingen, body).status_code == 201
    (pseudonym,) = inbox_pseudonyms(gateway_app, riec)  # an identified inbox read
    translated = gateway_app.test_client().post(
        "/v1/pseudonyms/translate", json={"pseudonyms": [pseudonym]}, headers=riec)
    assert translated.status_code == 200
    seal(gateway_app, keyring)
    readable = everything_readable(gateway_app, riec) + translated.get_data(as_text=True)
    person_keys = [k for pair in audit_pseudonyms_known(gateway_app, connection).items()
                   for k in pair]
    assert [k for k in person_keys if k in readable] == []
    assert '"identities_disclosed":1' in readable.replace(" ", "")


def _rejected(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(AuditEntry.entry).order_by(AuditEntry.id)).scalars()
    return [e for e in map(json.loads, rows) if e["action"] == "exchange.rejected"]


def test_partner_chosen_text_never_enters_the_log(
    gateway_app: Flask, connection: Connection, vlaardingen: dict[str, str]
) -> None:
    name = "Eva Jansen 1999-04-02"
    subject = {"ref": "p1", "role": "slachtoffer", "identifiers": {**EVA, name: "x"}}
    attempts: list[tuple[Any, dict[str, Any], int]] = [
        (exchange_body(subjects=[subject]), {}, 422),
        (exchange_body(**{name: 1}), {}, 422),
        (exchange_body(items=[{"category": "uitbuitingssignalen", "subject_ref": "p1",
                               "content": {}, name: 1}]), {}, 422),
        (exchange_body(), {"Idempotency-Key": name * 20}, 400),
    ]
    for body, extra_headers, status in attempts:
        answer = send(gateway_app, {**vlaardingen, **extra_headers}, body)
        assert answer.status_code == status, answer.json
    assert send(gateway_app, {**vlaardingen, "Idempotency-Key": name}, exchange_body()
                ).status_code == 201
    reused = send(gateway_app, {**vlaardingen, "Idempotency-Key": name},
                  exchange_body(process_step="dossiervorming"))
    assert reused.status_code == 409
    raw_bodies = ['[' * 100_000 + ']' * 100_000, '{"covenant": NaN}', '{"a": 1', '\xff']
    for raw in raw_bodies:
        answer = gateway_app.test_client().post(
            "/v1/exchanges", data=raw.encode("utf-8", "surrogateescape"), headers=vlaardingen,
            content_type="application/json")
        assert answer.status_code == 400, raw[:10]
        assert answer.mimetype == "application/problem+json"
    rejected = _rejected(connection)
    assert len(rejected) == len(attempts) + 1 + len(raw_bodies)  # exactly one each
    log_text = "\n".join(connection.execute(select(AuditEntry.entry)).scalars())
    assert [marker for marker in MARKERS if marker in log_text] == []
    assert {"/subjects/0/identifiers/*", "/*", "/items/0/*"} <= {
        field for entry in rejected for field in entry["fields"]}


def _tamper(connection: Connection) -> None:
    """Out of the way with the append-only triggers, as an operator with DDL rights would."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        return
    for trigger in ("audit_entries_sealed", "audit_entries_no_delete"):
        connection.exec_driver_sql(f"DROP TRIGGER {trigger}")


@pytest.fixture
def verify(gateway_app: Flask, keyring: Any) -> Callable[[], Result]:
    """``ketenpoort audit verify`` on the app's database."""
    container = gateway_app.extensions["ketenpoort"]
    return lambda: CliRunner().invoke(audit_commands, ["verify"], obj=container)


def test_an_operator_swapping_event_ids_is_caught_by_verify(
    gateway_app: Flask, connection: Connection, keyring: Any, vlaardingen: dict[str, str],
    verify: Callable[[], Result],
) -> None:
    first = send(gateway_app, vlaardingen, exchange_body()).json["audit_event_id"]
    second = send(gateway_app, vlaardingen, exchange_body(process_step="dossiervorming")
                  ).json["audit_event_id"]
    seal(gateway_app, keyring)
    assert verify().exit_code == 0
    # Lookups by event id would now hand out the other entry.
    _tamper(connection)
    for old, new in ((first, "swap"), (second, first), ("swap", second)):
        connection.execute(update(AuditEntry).where(AuditEntry.event_id == old)
                           .values(event_id=new))
    result = verify()
    assert result.exit_code == 1, result.output
    assert "event_id column differs" in result.output
