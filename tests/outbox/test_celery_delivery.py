"""Production mode: a real Celery worker on the localhost RabbitMQ drains the outbox.

Each test commits real rows (a worker is another process and sees committed data only) in a
database of its own, uses a queue name of its own, and starts ``celery worker`` exactly as
docker/compose.yaml does, with the solo pool so that SIGKILL kills the process doing the work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from audit.log import AuditLog
from gateway import db
from gateway.background.broker import (
    SWEEP_TASK,
    CeleryPublisher,
    OffRequestPublisher,
    make_celery,
)
from gateway.identity.envelope import ContentSealer
from gateway.keys import Keyring
from gateway.logs import TraceContext, traced
from gateway.outbox.services import ChannelDirectory, Outbox
from gateway.policy.covenants import PolicyBundle
from gateway.settings import Settings
from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL
from tests.factories import RIEC
from tests.local_ca import trusted_ca
from tests.outbox.receivers import SmtpServer, WebhookReceiver, free_port

REPOSITORY = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("KETENPOORT_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
MESSAGES = 4


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: suites running side by side never share one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
        _migrate(url)
        yield url
        return
    name = f"ketenpoort_outbox_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    _migrate(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrate(url: str) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()


@pytest.fixture
def celery_settings(
    tmp_path: Path, database_url: str, keyring: Keyring, smtp_server: SmtpServer
) -> Iterator[Settings]:
    settings = Settings(
        instance_path=tmp_path / "instance", database_url=database_url, task_mode="celery",
        broker_url=BROKER_URL, task_queue=f"ketenpoort-test-{uuid.uuid4().hex[:12]}",
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, webhook_timeout_seconds=2.0,
        outbox_lease_seconds=3.0, outbox_backoff_seconds=0.1, outbox_max_backoff_seconds=0.5,
        webhook_ca_bundle=trusted_ca().bundle, smtp_ca_bundle=trusted_ca().bundle,
    )
    keyring.save(settings.keyring_path)  # the worker signs with the keys the receiver trusts
    yield settings
    with make_celery(settings).connection_for_write() as connection:
        connection.default_channel.queue_delete(settings.task_queue)


@pytest.fixture
def session_factory(celery_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(celery_settings.database_url)
    yield db.make_session_factory(engine)
    engine.dispose()


class Worker:
    """``celery -A gateway.background.tasks:celery_app worker`` in a subprocess, like compose."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.log_path = log_path
        environment = {**os.environ, **_environment(settings)}
        self.process = subprocess.Popen(  # noqa: S603  # a fixed command line, no shell
            [sys.executable, "-m", "celery", "-A", "gateway.background.tasks:celery_app", "worker",
             "--pool=solo", "--queues", settings.task_queue, "--without-gossip",
             # A node name of its own: a killed worker's exclusive control queue may linger.
             "--hostname", f"{settings.task_queue}-{log_path.stem}@%h",
             "--without-mingle", "--loglevel=INFO"],
            cwd=REPOSITORY, env=environment, stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        _wait_for(lambda: "ready." in self.log(), 30, "the worker to start")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()  # the test is over and its queue is deleted; no need for a warm shutdown


@pytest.fixture
def start_worker(celery_settings: Settings, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    workers: list[Worker] = []

    def start() -> Worker:
        workers.append(Worker(celery_settings, tmp_path / f"worker-{len(workers)}.log"))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


def _environment(settings: Settings) -> dict[str, str]:
    names = ("database_url", "task_mode", "broker_url", "task_queue", "smtp_host", "smtp_port",
             "webhook_timeout_seconds", "outbox_lease_seconds", "outbox_backoff_seconds",
             "outbox_max_backoff_seconds", "webhook_ca_bundle", "smtp_ca_bundle")
    return {"KETENPOORT_INSTANCE": str(settings.instance_path),
            **{f"KETENPOORT_{n.upper()}": str(getattr(settings, n)) for n in names}}


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _connect_riec(factory: sessionmaker[Session], settings: Settings, webhook: str) -> None:
    partners = PolicyBundle.load(settings.policies_path).partner_ids()
    with db.transaction(factory) as session:
        ChannelDirectory().set(session, RIEC, webhook_url=webhook, email="riec@example.test",
                               known_partners=partners,
                               audit=AuditLog(lambda: db.session_now(session)))


def _enqueue(outbox: Outbox, factory: sessionmaker[Session], count: int) -> list[str]:
    with db.transaction(factory) as session:
        return [outbox.enqueue(session, kind="test.notice", recipient=RIEC,
                               payload={"title": f"agenda {n}"}, idempotency_key=f"notice-{n}")
                for n in range(count)]


def _views(outbox: Outbox, factory: sessionmaker[Session], ids: list[str]) -> list[Any]:
    with db.transaction(factory) as session:
        return [outbox.show(session, i) for i in ids]


def _all_delivered(outbox: Outbox, factory: sessionmaker[Session], ids: list[str]) -> bool:
    return all(v["state"] == "delivered" for v in _views(outbox, factory, ids))


def _channel_ids(views: list[Any], channel: str) -> set[str]:
    return {c["delivery_id"] for v in views for c in v["channels"] if c["channel"] == channel}


def test_a_worker_killed_mid_delivery_loses_nothing_and_doubles_nothing(
    celery_settings: Settings, session_factory: sessionmaker[Session],
    start_worker: Callable[[], Worker], webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer, keyring: Keyring,
) -> None:
    _connect_riec(session_factory, celery_settings, webhook_receiver.url)
    outbox = Outbox(CeleryPublisher(make_celery(celery_settings), celery_settings.task_queue),
                    ContentSealer(keyring))
    ids = _enqueue(outbox, session_factory, MESSAGES)
    webhook_receiver.hold_first = threading.Event()

    doomed = start_worker()
    _wait_for(webhook_receiver.first_arrival.is_set, 30, "the first webhook")
    doomed.kill()  # mid-delivery: the receiver has the request, the worker never got an answer
    webhook_receiver.hold_first.set()
    start_worker()
    _wait_for(lambda: _all_delivered(outbox, session_factory, ids), 60, "every delivery")

    views = _views(outbox, session_factory, ids)
    webhooks, mails = _channel_ids(views, "webhook"), _channel_ids(views, "email")
    assert all(len(v["channels"]) == 3 for v in views)
    assert webhook_receiver.processed == dict.fromkeys(webhooks, 1)
    # The interrupted request reached the receiver twice (same id); every other one once.
    assert sorted(webhook_receiver.arrivals.values()) == [1] * (MESSAGES - 1) + [2]
    # The attempt the killed worker never recorded is counted: it reached the receiver.
    attempts = {c["delivery_id"]: c["attempts"] for v in views for c in v["channels"]
                if c["channel"] == "webhook"}
    assert attempts == dict(webhook_receiver.arrivals)
    assert smtp_server.message_ids() == {f"<{m}@ketenpoort>": 1 for m in mails}
    assert webhook_receiver.rejected == 0


def test_a_broker_outage_delays_deliveries_but_never_loses_or_fakes_them(
    celery_settings: Settings, session_factory: sessionmaker[Session],
    start_worker: Callable[[], Worker], webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer, keyring: Keyring,
) -> None:
    _connect_riec(session_factory, celery_settings, webhook_receiver.url)
    down = celery_settings.with_overrides(broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}//")
    outbox = Outbox(CeleryPublisher(make_celery(down), celery_settings.task_queue),
                    ContentSealer(keyring))

    started = time.monotonic()
    ids = _enqueue(outbox, session_factory, 2)
    assert time.monotonic() - started < 5, "a dead broker must not hold the committing request"
    start_worker()
    time.sleep(1)  # a worker on the live broker, yet nothing was published to it
    assert {v["state"] for v in _views(outbox, session_factory, ids)} == {"pending"}
    assert webhook_receiver.arrivals == {}

    make_celery(celery_settings).send_task(SWEEP_TASK, queue=celery_settings.task_queue)
    _wait_for(lambda: _all_delivered(outbox, session_factory, ids), 30, "the sweep")

    views = _views(outbox, session_factory, ids)
    assert webhook_receiver.processed == dict.fromkeys(_channel_ids(views, "webhook"), 1)
    assert len(smtp_server.messages) == 2


def test_a_worker_writes_json_log_lines(start_worker: Callable[[], Worker]) -> None:
    worker = start_worker()

    logged = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]

    assert any(line["logger"].startswith("celery") and line["message"].endswith("ready.")
               for line in logged)
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in logged)


def test_the_request_trace_reaches_the_task_the_worker_log_and_the_webhook(
    celery_settings: Settings, session_factory: sessionmaker[Session],
    start_worker: Callable[[], Worker], webhook_receiver: WebhookReceiver, keyring: Keyring,
) -> None:
    _connect_riec(session_factory, celery_settings, webhook_receiver.url)
    publisher = OffRequestPublisher(
        CeleryPublisher(make_celery(celery_settings), celery_settings.task_queue))
    outbox = Outbox(publisher, ContentSealer(keyring))
    request = TraceContext.from_headers(None, f"00-{'ab' * 16}-{'cd' * 8}-01")
    with traced(request):
        ids = _enqueue(outbox, session_factory, 1)

    worker = start_worker()
    _wait_for(lambda: _all_delivered(outbox, session_factory, ids), 30, "the delivery")

    assert webhook_receiver.last_request is not None
    headers = {k.lower(): v for k, v in webhook_receiver.last_request[0].items()}
    assert headers["traceparent"].split("-")[1] == request.trace_id
    logged = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    dispatching = [line for line in logged if line["message"] == "dispatching outbox message"]
    assert [line["trace_id"] for line in dispatching] == [request.trace_id]
    assert dispatching[0]["span_id"] != request.span_id  # the task is a span of its own
