"""Durable by default: on SQLite a commit the gateway answered is on disk (synchronous=FULL);
and a crash of ``ketenpoort serve`` (SIGKILL of its process group while exchanges of several
requests are being committed together) loses no answered exchange and leaves no half one.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from audit.models import AuditEntry
from gateway import db
from gateway.auditing.cli import audit_commands
from gateway.container import build_container
from gateway.delivery.models import Delivery
from gateway.exchange.models import Exchange
from gateway.instance import create_demo_clients, initialise
from gateway.outbox.models import OutboxMessage
from gateway.settings import Settings, SettingsError
from tests.conftest import BACKENDS, SEALING_LAG_OF_A_TEST_APP, TEST_MORNING, instance_database
from tests.factories import RIEC, VLAARDINGEN, exchange_body
from tests.outbox.receivers import free_port

# SQLite's numbers for PRAGMA synchronous.
FULL, NORMAL = 2, 1


def _synchronous(engine_url: str, **kwargs: str) -> int:
    engine = db.make_engine(engine_url, **kwargs)
    with engine.connect() as connection:
        level = connection.execute(text("PRAGMA synchronous")).scalar_one()
    engine.dispose()
    return int(level)


def test_an_engine_commits_durably_unless_told_otherwise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    assert _synchronous(url) == FULL
    assert _synchronous(url, sqlite_synchronous="NORMAL") == NORMAL
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        db.make_engine(url, sqlite_synchronous="OFF")


def test_the_gateway_follows_the_setting(tmp_path: Path) -> None:
    for setting, expected in (("FULL", FULL), ("NORMAL", NORMAL)):
        settings = Settings(instance_path=tmp_path / setting, sqlite_synchronous=setting)
        initialise(settings)
        with build_container(settings).session_factory() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar_one() == expected


def test_a_setting_that_would_drop_durability_altogether_is_refused() -> None:
    with pytest.raises(SettingsError, match="sqlite_synchronous"):
        Settings.from_env({"KETENPOORT_SQLITE_SYNCHRONOUS": "OFF"})


# --- A crash of the serving process during group commits ---------------------------------------

ROOT = Path(__file__).resolve().parent.parent
KETENPOORT = [sys.executable, "-c", "from gateway.cli import main; main()"]
INSPECTIE = "arbeidsinspectie"
#: Keep-alive clients, one per thread of ``serve``'s 2 workers x 4 threads: each worker has
#: several exchanges at once to commit together.
CLIENTS = 8
CRASHES = 3
#: The kill comes the moment this many exchanges of a round were answered 201, with the other
#: clients' requests in flight: no timing to tune, whatever the machine's speed.
CREATED_BEFORE_A_CRASH = 40
ROUND_SECONDS = 60


@dataclass
class Told:
    """What the clients were told, by Idempotency-Key, over every round."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)
    #: Sent before the crash, never answered: in flight when the process group died.
    cut_off: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)


@dataclass
class Crash:
    """SIGKILL for the whole ``ketenpoort serve`` process group (gunicorn's master and workers)
    once ``after`` exchanges in all were answered 201."""

    group: int
    after: int
    happened: threading.Event = field(default_factory=threading.Event)

    def answered(self, told: Told, key: str, status: int, body: Any) -> None:
        with told.lock:
            if status == 201:
                told.created[key] = body
            else:
                told.other[key] = status
            if len(told.created) >= self.after and not self.happened.is_set():
                self.happened.set()  # before the kill: a request sent while unset was sent before
                os.killpg(self.group, signal.SIGKILL)


def _at_hour(env: dict[str, str], hour: int) -> dict[str, str]:
    """``env`` with the product clock starting ``hour`` hours after the test morning: each
    process starts its clock anew, and every one must start later than the last."""
    return {**env, "KETENPOORT_CLOCK_START": (TEST_MORNING + timedelta(hours=hour)).isoformat()}


@pytest.fixture(params=BACKENDS)
def instance_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Path, test_policies_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a demo instance (what ``ketenpoort init --demo`` makes, less the
    people) whose database commits for real: the SQLite file in the instance, or a PostgreSQL
    database of its own."""
    with instance_database(request.param, monkeypatch, "crash"):
        env = {**os.environ, "KETENPOORT_INSTANCE": str(tmp_path / "instance"),
               "KETENPOORT_POLICIES_PATH": str(test_policies_path),
               # Entries left pending by a crash wait from one round's clock to the next.
               "KETENPOORT_AUDIT_MAX_LAG_SECONDS": str(SEALING_LAG_OF_A_TEST_APP),
               "PYTHONPATH": str(ROOT)}
        settings = Settings.from_env(_at_hour(env, 0))
        create_demo_clients(initialise(settings), build_container(settings).clients)
        yield env


def _call(connection: http.client.HTTPConnection, path: str, body: bytes,
          headers: dict[str, str]) -> tuple[int, Any]:
    connection.request("POST", path, body, headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"null")


def _token(port: int, instance: Path) -> str:
    credentials = json.loads((instance / "demo-clients.json").read_text())[VLAARDINGEN]
    basic = base64.b64encode(
        f"{credentials['client_id']}:{credentials['client_secret']}".encode()).decode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    status, body = _call(connection, "/oauth/token", b"grant_type=client_credentials",
                         {"Authorization": f"Basic {basic}",
                          "Content-Type": "application/x-www-form-urlencoded"})
    connection.close()
    assert status == 200, body
    return str(body["access_token"])


def _until_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + ROUND_SECONDS
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("ketenpoort serve did not come up")


def _signal_about_someone_new(number: int) -> bytes:
    """A signal to the RIEC and the labour inspectorate (two deliveries) about a person not
    sent before, so every exchange registers and indexes a subject too."""
    person = {"family_name": "Jansen", "given_names": "Eva",
              "birth_date": (date(1950, 1, 1) + timedelta(days=number)).isoformat()}
    return json.dumps(exchange_body(
        subjects=[{"ref": "p1", "role": "slachtoffer", "identifiers": person}],
        recipients=[RIEC, INSPECTIE], exploitation_form="arbeidsuitbuiting")).encode()


def _send_until_the_crash(port: int, token: str, keys: str, numbers: Iterator[int],
                          told: Told, crash: Crash) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ROUND_SECONDS)
    while not crash.happened.is_set():
        number = next(numbers)
        key = f"{keys}-{number}"
        body = _signal_about_someone_new(number)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                   "Idempotency-Key": key}
        sent_before_the_crash = False
        try:
            connection.request("POST", "/v1/exchanges", body, headers)
            sent_before_the_crash = not crash.happened.is_set()
            response = connection.getresponse()
            answer = json.loads(response.read())
        except (OSError, http.client.HTTPException) as error:
            with told.lock:
                if not crash.happened.is_set():
                    told.unexpected.append(f"{key}: {error!r}")
                elif sent_before_the_crash:
                    told.cut_off.add(key)
            return
        crash.answered(told, key, response.status, answer)


def _until_dead(group: int) -> None:
    """Wait until no process of ``group`` runs any more (a zombie has released its files, locks
    and connections; only its parent's wait is missing)."""
    deadline = time.monotonic() + ROUND_SECONDS
    while time.monotonic() < deadline:
        running = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):  # it ended while we looked
                state, _parent, process_group = stat.read_text().rsplit(")", 1)[1].split()[:3]
                if int(process_group) == group and state != "Z":
                    running.append(stat)
        if not running:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {group} survived SIGKILL")


def _crash_under_load(env: dict[str, str], crash_number: int, told: Told,
                      numbers: Iterator[int]) -> None:
    """Serve, send from :data:`CLIENTS` keep-alive connections, and kill the process group
    while exchanges are being committed."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603  # our own console script
        [*KETENPOORT, "serve", "--port", str(port)], env=_at_hour(env, crash_number),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    crash = Crash(group=server.pid, after=len(told.created) + CREATED_BEFORE_A_CRASH)
    try:
        _until_serving(port, server)
        token = _token(port, Path(env["KETENPOORT_INSTANCE"]))
        clients = [threading.Thread(target=_send_until_the_crash,
                                    args=(port, token, f"crash{crash_number}-client{client}",
                                          numbers, told, crash))
                   for client in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(ROUND_SECONDS)
        assert crash.happened.is_set(), f"too few exchanges created: {told.other}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        _until_dead(server.pid)


@dataclass(frozen=True)
class Stored:
    exchanges: dict[str, Any]  # by Idempotency-Key
    delivered_to: dict[str, set[str]]  # exchange id -> recipients of its deliveries
    deliveries_without_a_message: set[str]
    audited_exchanges: dict[str, str]  # audit event id -> the exchange id its entry names


def _stored(database_url: str) -> Stored:
    engine = db.make_engine(database_url)
    with engine.connect() as connection:
        exchanges = {row.idempotency_key: row for row in connection.execute(
            select(Exchange.id, Exchange.idempotency_key, Exchange.audit_event_id,
                   Exchange.response_body))}
        delivered_to: dict[str, set[str]] = {}
        delivery_ids = set()
        for exchange_id, delivery_id, recipient in connection.execute(
                select(Delivery.exchange_id, Delivery.id, Delivery.recipient)):
            delivered_to.setdefault(exchange_id, set()).add(recipient)
            delivery_ids.add(delivery_id)
        queued = set(connection.scalars(select(OutboxMessage.idempotency_key)))
        entries = [json.loads(entry) for entry in connection.scalars(select(AuditEntry.entry))]
    engine.dispose()
    return Stored(
        exchanges=exchanges, delivered_to=delivered_to,
        deliveries_without_a_message={d for d in delivery_ids
                                      if f"exchange.delivery:{d}" not in queued},
        audited_exchanges={e["event_id"]: e["exchange_id"] for e in entries
                           if e["action"] in {"exchange.delivered", "exchange.refused"}})


def test_a_crash_during_group_commits_loses_no_answered_exchange_and_leaves_no_half_one(
    instance_env: dict[str, str],
) -> None:
    told, numbers = Told(), itertools.count()
    for crash_number in range(1, CRASHES + 1):  # each round restarts after the last crash
        _crash_under_load(instance_env, crash_number, told, numbers)

    assert not told.unexpected
    assert told.cut_off, "no request was in flight when the process group was killed"
    after_the_crashes = Settings.from_env(_at_hour(instance_env, CRASHES + 1))
    container = build_container(after_the_crashes)
    sealed = CliRunner().invoke(audit_commands, ["sequencer", "--once"], obj=container)
    assert sealed.exit_code == 0, sealed.output
    verified = CliRunner().invoke(audit_commands, ["verify"], obj=container)
    assert verified.exit_code == 0, verified.output
    assert "still wait" not in verified.output

    stored = _stored(after_the_crashes.database_url)
    lost = sorted(set(told.created) - set(stored.exchanges))
    assert not lost, f"answered 201, not stored: {lost}"
    assert all(stored.exchanges[key].response_body == answer  # stored as it was answered
               for key, answer in told.created.items())
    assert all(_allowed(answer) == {RIEC, INSPECTIE} for answer in told.created.values())
    assert not set(told.other) & set(stored.exchanges), "an exchange refused yet stored"
    half = [(key, exchange.id) for key, exchange in stored.exchanges.items()
            if stored.delivered_to.get(exchange.id, set()) != _allowed(exchange.response_body)
            or stored.audited_exchanges.get(exchange.audit_event_id) != exchange.id]
    assert not half, f"stored without its audit entry or all its deliveries: {half}"
    assert not stored.deliveries_without_a_message
    assert set(stored.audited_exchanges.values()) == {e.id for e in stored.exchanges.values()}


def _allowed(answer: dict[str, Any]) -> set[str]:
    return {decision["recipient"] for decision in answer["decisions"] if decision["allowed"]}
