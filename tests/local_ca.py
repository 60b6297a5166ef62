"""A certificate authority of the tests' own, for real TLS listeners on 127.0.0.1.

The webhook receiver and the SMTP server present certificates it issued; the gateway trusts it
only through its CA-bundle settings, exactly as a deployment trusts a private CA. A second,
untrusted authority stands in for a man in the middle.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class LocalCA:
    folder: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def bundle(self) -> str:
        """The CA certificate as a PEM file: what a CA-bundle setting names."""
        return str(self.folder / "ca.pem")

    def client_certificate(self, common_name: str, serial_number: str | None = None
                           ) -> tuple[str, str]:
        """A client certificate and its key (PEM file paths), the way a PKIoverheid
        certificate names its organisation: the OIN in the subject's serialNumber."""
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if serial_number is not None:
            attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
        return self._issue("client", x509.Name(attributes), x509.ExtendedKeyUsage(
            [x509.ExtendedKeyUsageOID.CLIENT_AUTH]))

    def mutual_tls_server_context(self, host: str = LOCALHOST) -> ssl.SSLContext:
        """:meth:`server_context` that also asks for a client certificate and verifies it
        against this CA; a connection without one is let in (the app decides what it may)."""
        context = self.server_context(host)
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(self.bundle)
        return context

    def server_context(self, host: str = LOCALHOST) -> ssl.SSLContext:
        """A TLS server context presenting a certificate this CA issued for ``host``."""
        certificate, key = self._issue("server", _name(host), x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(host))]))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        return context

    def _issue(self, kind: str, subject: x509.Name, extension: x509.ExtensionType
               ) -> tuple[str, str]:
        """A certificate for ``subject`` with ``extension`` and a fresh key, as PEM files."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(self.certificate.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(extension, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        stem = self.folder / f"{kind}-{certificate.serial_number}"
        stem.with_suffix(".crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        stem.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        return str(stem.with_suffix(".crt")), str(stem.with_suffix(".key"))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(name: str) -> LocalCA:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(name)).issuer_name(_name(name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="ketenpoort-ca-"))
    (folder / "ca.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return LocalCA(folder, key, certificate)


@functools.cache
def trusted_ca() -> LocalCA:
    """The CA the tests' gateways are configured to trust (one per test process)."""
    return make_ca("Ketenpoort test CA")


@functools.cache
def untrusted_ca() -> LocalCA:
    """A CA no gateway trusts: certificates a man in the middle could make."""
    return make_ca("Man in the middle")
