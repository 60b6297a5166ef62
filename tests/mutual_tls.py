"""Gateways that partners reach over mutual TLS, for the certificate-bound token tests.

A policies tree in which one partner requires mutual TLS, client certificates from the tests'
own CA naming partners by OIN, and the real app behind werkzeug's TLS listener on a free
loopback port (the listener verifies client certificates against the CA and hands the app the
verified one in ``SSL_CLIENT_CERT``).
"""

from __future__ import annotations

import shutil
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from flask import Flask
from werkzeug.serving import make_server

from gateway.db import transaction
from tests.factories import POLITIE, VLAARDINGEN
from tests.local_ca import LOCALHOST

#: Partner OINs as in policies/partners.yaml.
POLITIE_OIN = "99999999000000004000"
VLAARDINGEN_OIN = "99999999000000001000"


def policies_requiring_mutual_tls(source: Path, target: Path, partner: str = POLITIE) -> Path:
    """A copy of the policies tree ``source`` in which ``partner`` requires mutual TLS."""
    shutil.copytree(source, target)
    registry = target / "partners.yaml"
    document = yaml.safe_load(registry.read_text())
    for entry in document["partners"]:
        if entry["id"] == partner:
            entry["mutual_tls"] = True
    registry.write_text(yaml.safe_dump(document))
    return target


def client_of(app: Flask, partner: str, scopes: tuple[str, ...] = ("inbox:read",)
              ) -> tuple[str, str]:
    """A new client of ``partner``: its id and secret."""
    container = app.extensions["ketenpoort"]
    with transaction(container.session_factory) as session:
        client, secret = container.clients.create(session, partner, list(scopes),
                                                  container.bundle.partner_ids())
        return client.client_id, secret


@contextmanager
def serving_tls(app: Flask, context: ssl.SSLContext) -> Iterator[str]:
    """``app`` behind a TLS listener on a free loopback port; yields its base URL."""
    server = make_server(LOCALHOST, 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://{LOCALHOST}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


__all__ = ["POLITIE", "POLITIE_OIN", "VLAARDINGEN", "VLAARDINGEN_OIN", "client_of",
           "policies_requiring_mutual_tls", "serving_tls"]
