"""PostgreSQL stopped and started under load: 503s while it is down, nothing half-done, and the
same gateway process recovers on its own.

The test runs a private cluster of its own (``initdb``/``pg_ctl`` on a free port under a
temporary folder), so stopping it disturbs nothing else. Several threads keep sending
exchanges throughout; every answer must be 201 or 503 (with ``Retry-After``), every 201 must
be stored with its audit entry, nothing may be stored without one, and a 201 must come again
within a few seconds of the restart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from audit.models import AuditEntry
from gateway import db
from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.exchange.models import Exchange
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.conftest import TEST_MORNING
from tests.factories import RIEC, VLAARDINGEN, bearer, exchange_body
from tests.outbox.receivers import free_port

POSTGRES_BIN = Path(os.environ.get("KETENPOORT_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
SENDERS = 4
DOWN_SECONDS = 3.0
RECOVERY_SECONDS = 10.0

pytestmark = pytest.mark.skipif(not (POSTGRES_BIN / "initdb").exists(),
                                reason=f"no PostgreSQL binaries in {POSTGRES_BIN}")


@dataclass
class PrivateCluster:
    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        # PostgreSQL refuses to run as root; CI runs as root, a developer perhaps not.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)  # noqa: S603  # fixed commands, our own temporary folder

    def init(self) -> PrivateCluster:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(str(POSTGRES_BIN / "initdb"), "-D", str(self.folder / "data"), "-U",
                  "postgres", "--auth=trust")
        return self

    def start(self) -> None:
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-l",
                  str(self.folder / "log"), "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-w",
                  "-m", "fast", "stop")


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    # Not under pytest's own temporary folder: that one is private to the user running the
    # tests, and the cluster runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="ketenpoort-private-postgres-"))
    try:
        cluster = PrivateCluster(folder).init()
        cluster.start()
        yield cluster
        cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Answers:
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[tuple[float, int, Any, str | None]] = field(default_factory=list)

    def add(self, status: int, body: Any, retry_after: str | None) -> None:
        with self.lock:
            self.seen.append((time.monotonic(), status, body, retry_after))


def _send_until(app: Flask, headers: dict[str, str], stop: threading.Event,
                answers: Answers) -> None:
    http = app.test_client()
    while not stop.is_set():
        response = http.post("/v1/exchanges", json=exchange_body(recipients=[RIEC]),
                             headers=headers)
        answers.add(response.status_code, response.json, response.headers.get("Retry-After"))


def test_postgres_stopped_and_started_under_load(
    cluster: PrivateCluster, tmp_path: Path, test_policies_path: Path, keyring: Keyring
) -> None:
    engine = db.make_engine(cluster.url, connect_args={"connect_timeout": 2})
    db.upgrade(engine)
    settings = Settings(instance_path=tmp_path / "instance", database_url=cluster.url,
                        policies_path=test_policies_path)
    app = create_app(settings, bind=engine, keyring=keyring, clock=ManualClock(TEST_MORNING))
    headers = bearer(app, VLAARDINGEN)
    answers, stop = Answers(), threading.Event()
    senders = [threading.Thread(target=_send_until, args=(app, headers, stop, answers))
               for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(1.0)
        cluster.stop()
        time.sleep(DOWN_SECONDS)
        cluster.start()
        restarted = time.monotonic()
        time.sleep(RECOVERY_SECONDS / 2)
    finally:
        stop.set()
        for sender in senders:
            sender.join(30)

    statuses = [status for _at, status, _body, _retry in answers.seen]
    assert set(statuses) <= {201, 503}, sorted(set(statuses))
    assert 503 in statuses
    assert all(retry and int(retry) > 0 for _at, status, _b, retry in answers.seen
               if status == 503)
    assert any(status == 201 and at > restarted for at, status, _b, _r in answers.seen), (
        "no exchange succeeded after the restart: the process did not recover")
    created = {body["id"] for _at, status, body, _r in answers.seen if status == 201}
    with db.read_only(app.extensions["ketenpoort"].session_factory) as session:
        stored = set(session.scalars(select(Exchange.id)))
        audited = {json.loads(entry).get("exchange_id")
                   for entry in session.scalars(select(AuditEntry.entry))}
    assert created == stored  # every 201 stored, nothing stored that was not answered 201
    assert stored <= audited  # and every stored exchange has its audit entry
    engine.dispose()
