"""Real local receivers for the outbox tests: an HTTPS webhook endpoint and an SMTP server.

The webhook receiver behaves like a careful partner system: it verifies each request with
``adapters/verify_webhook.py`` (as partner ``partner``, at its own URL) and processes each
delivery id once (``bodies`` keeps the ``data`` of each, the delivery itself), counting raw
arrivals and processed deliveries separately so tests can tell a harmless retry from a double
effect. Both present certificates of the tests' own CA
(:mod:`tests.local_ca`), which the gateway trusts through its CA-bundle settings; the SMTP
server offers STARTTLS.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from adapters.verify_webhook import InvalidWebhook, verify
from tests.factories import RIEC
from tests.local_ca import LocalCA, trusted_ca


@dataclass
class WebhookReceiver:
    public_key_pem: bytes
    partner: str = RIEC
    secret: str | None = None  # the partner's whsec_ secret: checked too when given
    status: int = 204
    redirect_to: str | None = None  # set: answer 307 with this Location
    ca: LocalCA = field(default_factory=trusted_ca)
    arrivals: Counter[str] = field(default_factory=Counter)
    processed: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, bytes] = field(default_factory=dict)
    rejected: int = 0
    last_request: tuple[dict[str, str], bytes] | None = None
    first_arrival: threading.Event = field(default_factory=threading.Event)
    hold_first: threading.Event | None = None  # set: the first request waits for it to be set
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"https://127.0.0.1:{self.server.server_address[1]}/hook"

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        self.last_request = (headers, body)
        try:
            delivery_id = verify(headers, body, recipient=self.partner, url=self.url,
                                 public_key_pem=self.public_key_pem, secret=self.secret)
        except InvalidWebhook:
            with self.lock:
                self.rejected += 1
            return 401
        with self.lock:
            self.arrivals[delivery_id] += 1
            first = sum(self.arrivals.values()) == 1
            if self.status < 300 and delivery_id not in self.processed:
                self.processed[delivery_id] += 1
                self.bodies[delivery_id] = json.dumps(json.loads(body)["data"]).encode()
        self.first_arrival.set()
        if first and self.hold_first is not None:
            self.hold_first.wait(30)
        return self.status

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.receive(dict(self.headers.items()), body)
                try:
                    if receiver.redirect_to is not None:
                        self.send_response(307)
                        self.send_header("Location", receiver.redirect_to)
                    else:
                        self.send_response(status)
                    self.end_headers()
                except OSError:
                    pass  # the sender died while we held the request; that is the test

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = self.ca.server_context()
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.hold_first is not None:
            self.hold_first.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class _MailSink:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    # aiosmtpd calls the hook by this name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@dataclass
class SmtpServer:
    sink: _MailSink = field(default_factory=_MailSink)
    controller: Controller | None = None
    ca: LocalCA | None = field(default_factory=trusted_ca)  # None: no STARTTLS offered

    @property
    def port(self) -> int:
        assert self.controller is not None
        return int(self.controller.port)

    @property
    def messages(self) -> list[Any]:
        with self.sink.lock:
            return list(self.sink.messages)

    def message_ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)

    def start(self) -> SmtpServer:
        tls = None if self.ca is None else self.ca.server_context()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=free_port(),
                                     tls_context=tls)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd cannot bind port 0 and report it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
