"""Attacks on certificate-bound tokens (RFC 8705), with the gateway behind a TLS terminator.

The terminator at ``10.0.0.5`` verifies partners' certificates and forwards them in the RFC 9440
``Client-Cert`` header. The adversary holds a politie token it stole (from a log, a proxy, a
partner's laptop), and maybe the politie certificate too, which is public: it is sent in every
handshake. It does not hold the certificate's private key, so it cannot pass the terminator
with it; it connects to the gateway directly and writes the header itself.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from flask import Flask
from flask.testing import FlaskClient

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.keys import Keyring
from gateway.settings import Settings
from tests.local_ca import trusted_ca
from tests.mutual_tls import (
    POLITIE,
    POLITIE_OIN,
    VLAARDINGEN,
    client_of,
    policies_requiring_mutual_tls,
)

TERMINATOR = "10.0.0.5"
ATTACKER = "127.0.0.1"


@pytest.fixture
def settings(tmp_path: Path, test_policies_path: Path) -> Settings:
    return Settings(
        instance_path=tmp_path / "instance", client_certificate_source="header",
        client_certificate_proxies=f"{TERMINATOR}/32",
        policies_path=policies_requiring_mutual_tls(test_policies_path, tmp_path / "policies"))


@pytest.fixture
def app(settings: Settings, connection: Any, keyring: Keyring, clock: ManualClock) -> Flask:
    return create_app(settings, bind=connection, keyring=keyring, clock=clock)


def _client_cert_header(oin: str) -> str:
    """RFC 9440: the DER certificate as a structured-field byte sequence."""
    pem_path, _key = trusted_ca().client_certificate("politie", oin)
    der = x509.load_pem_x509_certificate(Path(pem_path).read_bytes()).public_bytes(Encoding.DER)
    return f":{base64.b64encode(der).decode()}:"


def _token(http: FlaskClient, client: tuple[str, str], certificate: str | None,
           source: str) -> Any:
    headers = {} if certificate is None else {"Client-Cert": certificate}
    return http.post("/oauth/token", auth=client, headers=headers,
                     data={"grant_type": "client_credentials"},
                     environ_base={"REMOTE_ADDR": source})


def _inbox(http: FlaskClient, token: str, certificate: str | None, source: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if certificate is not None:
        headers["Client-Cert"] = certificate
    return http.get("/v1/inbox", headers=headers, environ_base={"REMOTE_ADDR": source})


def test_a_stolen_bound_token_is_useless_without_the_certificate(app: Flask) -> None:
    http = app.test_client()
    certificate = _client_cert_header(POLITIE_OIN)
    issued = _token(http, client_of(app, POLITIE), certificate, TERMINATOR)
    assert issued.status_code == 200, issued.get_data(as_text=True)
    token = issued.json["access_token"]
    # The partner itself, through the terminator: served.
    assert _inbox(http, token, certificate, TERMINATOR).status_code == 200
    # The thief, through the terminator without the key: no certificate to forward.
    assert _inbox(http, token, None, TERMINATOR).status_code == 401
    # The thief with a certificate of its own that the terminator did accept.
    assert _inbox(http, token, _client_cert_header(POLITIE_OIN), TERMINATOR).status_code == 401


def test_a_forged_certificate_header_from_outside_the_terminator_is_ignored(app: Flask) -> None:
    http = app.test_client()
    certificate = _client_cert_header(POLITIE_OIN)
    token = _token(http, client_of(app, POLITIE), certificate, TERMINATOR).json["access_token"]
    # The thief writes the (public) certificate into the header and connects directly.
    refused = _inbox(http, token, certificate, ATTACKER)
    assert refused.status_code == 401
    assert refused.json["detail"] == "the access token is invalid, expired or revoked"


def test_a_forged_header_gets_no_token_for_a_partner_requiring_mutual_tls(app: Flask) -> None:
    """With the client's secret stolen too: the forged header still binds nothing."""
    http = app.test_client()
    response = _token(http, client_of(app, POLITIE), _client_cert_header(POLITIE_OIN), ATTACKER)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client"


def test_a_forged_header_cannot_bind_a_token_to_a_certificate_the_attacker_chose(
    app: Flask,
) -> None:
    """A partner without the requirement gets an unbound token: the header is not believed,
    so the token is not bound to a certificate of the attacker's choosing either."""
    http = app.test_client()
    response = _token(http, client_of(app, VLAARDINGEN), _client_cert_header(POLITIE_OIN),
                      ATTACKER)
    assert response.status_code == 200
    payload = response.json["access_token"].split(".")[1]
    assert b"cnf" not in base64.urlsafe_b64decode(payload + "==")
