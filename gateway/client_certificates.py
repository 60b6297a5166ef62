"""Client certificates (mutual TLS, RFC 8705) as they reach the app.

The certificate is verified where TLS ends, never here: by the gateway's own TLS listener
(``tls``: the WSGI server puts the verified peer certificate in ``SSL_CLIENT_CERT``, as
werkzeug's server, Apache's mod_ssl and mod_wsgi do), or by a TLS terminator in front of it, an
FSC inway or a load balancer (``header``: it forwards the certificate in a header, RFC 9440's
``Client-Cert: :<base64 DER>:`` or nginx's URL-encoded PEM). A header is believed only from
the configured proxy addresses: anyone else could write a certificate they do not hold into it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

CertificateSourceMode = Literal["none", "tls", "header"]
CERTIFICATE_SOURCE_MODES = ("none", "tls", "header")
#: Where a WSGI server that terminated TLS itself puts the verified peer certificate (PEM).
TLS_ENVIRON_KEY = "SSL_CLIENT_CERT"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class PresentedCertificate:
    """A client certificate the TLS layer verified; ``der`` is its DER encoding."""

    der: bytes

    @property
    def thumbprint(self) -> str:
        """RFC 8705's ``x5t#S256``: base64url (unpadded) SHA-256 of the DER certificate."""
        digest = hashlib.sha256(self.der).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @property
    def subject_serial_number(self) -> str | None:
        """The subject's serialNumber attribute: where a PKIoverheid certificate puts the OIN."""
        attributes = x509.load_der_x509_certificate(self.der).subject.get_attributes_for_oid(
            NameOID.SERIAL_NUMBER)
        value = attributes[0].value if attributes else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ClientCertificateSource:
    """Where this deployment finds the client certificate of a request (see the module doc)."""

    mode: CertificateSourceMode = "none"
    header: str = "Client-Cert"
    trusted_proxies: tuple[IPNetwork, ...] = ()

    def presented(self, environ: Mapping[str, Any]) -> PresentedCertificate | None:
        """The certificate the request's connection presented, or None."""
        if self.mode == "tls":
            return _from_pem(environ.get(TLS_ENVIRON_KEY))
        if self.mode == "header":
            value = environ.get("HTTP_" + self.header.upper().replace("-", "_"))
            if value is None:
                return None
            if not self._from_trusted_proxy(environ.get("REMOTE_ADDR")):
                # A forged header: the connection did not come through the terminator.
                log.warning("ignored a %s header from an untrusted address", self.header)
                return None
            return _from_header(value)
        return None

    def _from_trusted_proxy(self, address: object) -> bool:
        try:
            remote = ipaddress.ip_address(str(address))
        except ValueError:
            return False
        return any(remote in network for network in self.trusted_proxies)


def parse_proxies(text: str) -> tuple[IPNetwork, ...]:
    """``"10.0.0.5, 10.1.0.0/16"`` as networks; ValueError names an entry that is none."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False)
                 for entry in text.split(",") if entry.strip())


def _from_header(value: str) -> PresentedCertificate | None:
    value = value.strip()
    if value.startswith(":") and value.endswith(":") and len(value) > 1:  # RFC 9440
        try:
            return _checked(base64.b64decode(value[1:-1], validate=True))
        except ValueError:
            log.warning("the client certificate header is not RFC 9440 base64")
            return None
    return _from_pem(unquote(value))  # nginx's $ssl_client_escaped_cert


def _from_pem(pem: object) -> PresentedCertificate | None:
    if not isinstance(pem, str) or not pem.strip():
        return None
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        log.warning("the client certificate is not a PEM certificate")
        return None
    return PresentedCertificate(certificate.public_bytes(Encoding.DER))


def _checked(der: bytes) -> PresentedCertificate | None:
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        log.warning("the client certificate is not a DER certificate")
        return None
    return PresentedCertificate(der)
