"""Where a request's client certificate comes from: the TLS listener, or a trusted terminator."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.client_certificates import ClientCertificateSource, parse_proxies
from gateway.settings import Settings, SettingsError
from tests.local_ca import trusted_ca

OIN = "00000001001234567000"


@pytest.fixture(scope="module")
def pem() -> str:
    return Path(trusted_ca().client_certificate("partner", OIN)[0]).read_text()


def _der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


HEADER_SOURCE = ClientCertificateSource("header", "Client-Cert", parse_proxies("10.0.0.0/8"))


def test_the_tls_listeners_certificate_is_read_with_its_oin(pem: str) -> None:
    presented = ClientCertificateSource("tls").presented({"SSL_CLIENT_CERT": pem})
    assert presented is not None
    assert presented.der == _der(pem)
    assert presented.subject_serial_number == OIN
    assert len(presented.thumbprint) == 43  # base64url SHA-256, unpadded


@pytest.mark.parametrize("form", ["rfc9440", "nginx"])
def test_a_terminators_header_is_read_in_either_form(pem: str, form: str) -> None:
    value = (f":{base64.b64encode(_der(pem)).decode()}:" if form == "rfc9440"
             else quote(pem))
    presented = HEADER_SOURCE.presented({"HTTP_CLIENT_CERT": value, "REMOTE_ADDR": "10.1.2.3"})
    assert presented is not None
    assert presented.der == _der(pem)


@pytest.mark.parametrize("remote", ["192.168.1.1", "", "not-an-address"])
def test_the_header_is_ignored_from_anyone_but_the_terminator(pem: str, remote: str) -> None:
    value = f":{base64.b64encode(_der(pem)).decode()}:"
    assert HEADER_SOURCE.presented({"HTTP_CLIENT_CERT": value, "REMOTE_ADDR": remote}) is None


@pytest.mark.parametrize("value", [":not base64!:", ":aGVsbG8=:", "garbage", "::"])
def test_a_malformed_header_is_no_certificate(value: str) -> None:
    assert HEADER_SOURCE.presented({"HTTP_CLIENT_CERT": value,
                                    "REMOTE_ADDR": "10.0.0.1"}) is None


def test_without_a_source_nothing_is_believed(pem: str) -> None:
    environ = {"SSL_CLIENT_CERT": pem, "HTTP_CLIENT_CERT": quote(pem), "REMOTE_ADDR": "10.0.0.1"}
    assert ClientCertificateSource().presented(environ) is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"client_certificate_source": "header"}, "needs client_certificate_proxies"),
    ({"client_certificate_source": "both"}, "client_certificate_source must be one of"),
    ({"client_certificate_proxies": "10.0.0.0/33"}, "client_certificate_proxies"),
    ({"access_token_algorithm": "HS256"}, "access_token_algorithm must be one of"),
])
def test_settings_refuse_an_unusable_configuration(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings(**changes)  # type: ignore[arg-type]  # wrong values are the point


def test_settings_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "KETENPOORT_INSTANCE": str(tmp_path), "KETENPOORT_CLIENT_CERTIFICATE_SOURCE": "header",
        "KETENPOORT_CLIENT_CERTIFICATE_PROXIES": "10.0.0.5, fd00::/8",
        "KETENPOORT_ACCESS_TOKEN_ALGORITHM": "PS256"})
    source = settings.client_certificate_settings
    assert source.mode == "header"
    assert len(source.trusted_proxies) == 2
    assert settings.access_token_algorithm == "PS256"
