"""Certificate-bound access tokens (RFC 8705) through a real TLS listener.

The politie partner's registry entry requires mutual TLS; the gemeente's does not. Client
certificates come from the tests' own CA and name their organisation by OIN in the subject's
serialNumber, as PKIoverheid certificates do.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.instance import initialise
from gateway.settings import Settings
from tests.conftest import TEST_MORNING
from tests.local_ca import trusted_ca, untrusted_ca
from tests.mutual_tls import (
    POLITIE,
    POLITIE_OIN,
    VLAARDINGEN,
    VLAARDINGEN_OIN,
    client_of,
    policies_requiring_mutual_tls,
    serving_tls,
)

Certificate = tuple[str, str]


@dataclass
class TLSGateway:
    url: str
    politie: tuple[str, str]  # client id and secret
    vlaardingen: tuple[str, str]
    politie_certificate: Certificate
    vlaardingen_certificate: Certificate

    def token(self, client: tuple[str, str], certificate: Certificate | None
              ) -> requests.Response:
        return requests.post(f"{self.url}/oauth/token", auth=client, cert=certificate,
                             data={"grant_type": "client_credentials"},
                             verify=trusted_ca().bundle, timeout=10)

    def inbox(self, token: str, certificate: Certificate | None) -> requests.Response:
        return requests.get(f"{self.url}/v1/inbox", cert=certificate,
                            headers={"Authorization": f"Bearer {token}"},
                            verify=trusted_ca().bundle, timeout=10)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, test_policies_path: Path
            ) -> Iterator[TLSGateway]:
    folder = tmp_path_factory.mktemp("mutual-tls")
    settings = Settings(
        instance_path=folder / "instance", client_certificate_source="tls",
        policies_path=policies_requiring_mutual_tls(test_policies_path, folder / "policies"))
    initialise(settings)
    app = create_app(settings, clock=ManualClock(TEST_MORNING))
    with serving_tls(app, trusted_ca().mutual_tls_server_context()) as url:
        yield TLSGateway(
            url, client_of(app, POLITIE), client_of(app, VLAARDINGEN),
            trusted_ca().client_certificate("politie", POLITIE_OIN),
            trusted_ca().client_certificate("vlaardingen", VLAARDINGEN_OIN))


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return claims


def _thumbprint(certificate: Certificate) -> str:
    der = x509.load_pem_x509_certificate(Path(certificate[0]).read_bytes()).public_bytes(
        serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def test_the_token_is_bound_to_the_certificate_it_was_asked_with(gateway: TLSGateway) -> None:
    response = gateway.token(gateway.politie, gateway.politie_certificate)
    assert response.status_code == 200, response.text
    claims = _claims(response.json()["access_token"])
    assert claims["cnf"] == {"x5t#S256": _thumbprint(gateway.politie_certificate)}
    assert claims["oin"] == POLITIE_OIN


def test_a_bound_token_works_with_its_certificate(gateway: TLSGateway) -> None:
    token = gateway.token(gateway.politie, gateway.politie_certificate).json()["access_token"]
    assert gateway.inbox(token, gateway.politie_certificate).status_code == 200


@pytest.mark.parametrize("presented", ["none", "another organisation's"])
def test_a_bound_token_is_refused_without_its_certificate(
    gateway: TLSGateway, presented: str
) -> None:
    token = gateway.token(gateway.politie, gateway.politie_certificate).json()["access_token"]
    certificate = None if presented == "none" else gateway.vlaardingen_certificate
    response = gateway.inbox(token, certificate)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_partner_requiring_mutual_tls_gets_no_token_without_a_certificate(
    gateway: TLSGateway,
) -> None:
    response = gateway.token(gateway.politie, None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert "requires mutual TLS" in response.json()["error_description"]


def test_a_certificate_naming_another_oin_gets_no_token(gateway: TLSGateway) -> None:
    response = gateway.token(gateway.politie, gateway.vlaardingen_certificate)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert "OIN" in response.json()["error_description"]


def test_a_certificate_of_an_unknown_authority_does_not_get_through_the_handshake(
    gateway: TLSGateway,
) -> None:
    forged = untrusted_ca().client_certificate("politie", POLITIE_OIN)
    with pytest.raises(requests.exceptions.SSLError):
        gateway.token(gateway.politie, forged)


def test_a_partner_without_the_requirement_may_connect_without_a_certificate(
    gateway: TLSGateway,
) -> None:
    response = gateway.token(gateway.vlaardingen, None)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert "cnf" not in _claims(token)
    assert _claims(token)["oin"] == VLAARDINGEN_OIN
    assert gateway.inbox(token, None).status_code == 200


def test_a_partner_without_the_requirement_is_still_bound_when_it_shows_a_certificate(
    gateway: TLSGateway,
) -> None:
    token = gateway.token(gateway.vlaardingen, gateway.vlaardingen_certificate).json()[
        "access_token"]
    assert _claims(token)["cnf"] == {"x5t#S256": _thumbprint(gateway.vlaardingen_certificate)}
    assert gateway.inbox(token, None).status_code == 401


def test_the_metadata_announces_bound_tokens(gateway: TLSGateway) -> None:
    metadata = requests.get(f"{gateway.url}/.well-known/oauth-authorization-server",
                            verify=trusted_ca().bundle, timeout=10).json()
    assert metadata["tls_client_certificate_bound_access_tokens"] is True


def test_the_listener_verifies_the_gateways_side_too(gateway: TLSGateway) -> None:
    """A sanity check of the set-up: the client trusts the gateway only through the CA."""
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{gateway.url}/healthz", verify=untrusted_ca().bundle, timeout=10)
