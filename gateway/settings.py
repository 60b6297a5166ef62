"""Every setting, read in one place.

The environment is read only by :meth:`Settings.from_env`; everything else receives a
:class:`Settings` instance, so tests pass their own and nothing reads ``os.environ`` behind
their back.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from gateway.client_certificates import (
    CERTIFICATE_SOURCE_MODES,
    CertificateSourceMode,
    ClientCertificateSource,
    parse_proxies,
)
from gateway.clock import ClockError, parse_moment

ENV_PREFIX = "KETENPOORT_"
FILE_SUFFIX = "_FILE"
# Settings that can carry a secret (a password in a URL, a bearer token): each is also read from
# the file named by KETENPOORT_<NAME>_FILE, so secrets can come from mounted files.
SECRET_SETTINGS = (
    "database_url", "broker_url", "metrics_token", "keyring_key", "pkcs11_pin",
)
# KETENPOORT_* variables that belong to other programs of this repository, not to the gateway:
# the offline witness (audit/witness.py) and the test suite (tests/conftest.py and friends).
OTHER_PROGRAMS_VARIABLES = frozenset({"KETENPOORT_WITNESS_TOKEN"})
OTHER_PROGRAMS_PREFIX = "KETENPOORT_TEST_"
# prometheus_client's own variable (multiprocess metrics under gunicorn): the library reads it
# when it is imported, so it keeps its name; the settings read it so nothing else has to.
FOREIGN_NAMES = {"prometheus_multiproc_dir": "PROMETHEUS_MULTIPROC_DIR"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
#: How access tokens may be signed: Ed25519 with the keyring's token key, or RSA (PKCS#1 v1.5
#: or PSS, SHA-256) with its RSA token key.
ACCESS_TOKEN_ALGORITHMS = ("Ed25519", "RS256", "PS256")

PolicyEngineName = Literal["regopy", "opa"]
TaskMode = Literal["inprocess", "celery"]


class SettingsError(ValueError):
    """A setting has a value the gateway cannot run with."""


@dataclass(frozen=True)
class Settings:
    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str = ""
    # SQLite only: FULL makes every answered commit durable; NORMAL is faster but a power loss
    # can take the last commits (with their audit entries) although their 201 was sent.
    sqlite_synchronous: str = "FULL"
    issuer: str = "https://ketenpoort.local"
    audience: str = "ketenpoort"
    access_token_ttl_seconds: int = 900
    # Token requests per minute, per client id and per source address (gateway/auth/rate_limit).
    token_requests_per_client: int = 30
    token_requests_per_address: int = 120
    max_body_bytes: int = 1_048_576
    policy_engine: PolicyEngineName = "regopy"
    policies_path: Path = field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "policies"
    )
    opa_url: str = "http://127.0.0.1:8181"
    opa_timeout_seconds: float = 2.0
    policy_reload_seconds: float = 5.0
    # Audit log (gateway/auditing): exchanges are refused once entries wait longer than the lag.
    audit_max_lag_seconds: float = 60.0
    # Background work (gateway/background): the embedded drainer and sequencer run in each
    # `ketenpoort serve` worker (run_background_workers None: on for serve, off elsewhere), or
    # Celery workers and beat run the tasks through the broker.
    task_mode: TaskMode = "inprocess"
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    task_queue: str = "ketenpoort"
    broker_connect_timeout_seconds: float = 3.0
    run_background_workers: bool | None = None
    run_sequencer_in_process: bool = True
    sequencer_interval_seconds: float = 1.0
    outbox_sweep_seconds: float = 30.0
    retention_interval_seconds: float = 3600.0  # terms are in months; hourly is prompt enough
    # Outbox and delivery (gateway/outbox).
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: float = 30.0
    outbox_max_backoff_seconds: float = 3600.0
    outbox_lease_seconds: float = 120.0
    webhook_timeout_seconds: float = 10.0
    # Push channels against a hostile network: CA bundles (PEM files; empty is the system
    # trust store), and per partner the hosts its webhooks may go to, as
    # "partner=host[:port],host;partner2=host" (empty: any https host).
    webhook_ca_bundle: str = ""
    webhook_egress: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "ketenpoort@localhost"
    smtp_starttls: bool = True
    smtp_ca_bundle: str = ""
    # Re-identification (gateway/identity): requests per partner per period, refused ones
    # included; roles whose identity needs a second person's approval; minors likewise.
    reidentification_limit: int = 20
    reidentification_period_seconds: float = 86_400.0
    reidentification_four_eyes_roles: str = "slachtoffer"  # comma-separated
    reidentification_four_eyes_minors: bool = True
    reidentification_min_reason_length: int = 20
    # Housekeeping terms of the retention run (gateway/retention): re-identification requests
    # (with their free-text reasons), and outbox messages once delivered or dead.
    reidentification_retention_months: int = 12
    outbox_retention_days: int = 30
    # The product's clock (gateway/clock.py): empty is the wall clock; an ISO date or date-time
    # starts the clock there and lets it run (demos of a covenant period, end-to-end tests).
    clock_start: str = ""
    # Operating (README "Operating"): the log level of the JSON lines on stderr; the bearer
    # token that opens /metrics (unset: /metrics is not served); the shared metrics folder of
    # gunicorn workers (unset: each worker counts its own requests).
    log_level: str = "INFO"
    metrics_token: str = ""
    prometheus_multiproc_dir: str = ""
    # Connecting as a government partner (README): how the access tokens are signed (Ed25519,
    # or RS256/PS256 with the keyring's RSA key, as the NL GOV OAuth profile expects), and where
    # a request's client certificate comes from for certificate-bound tokens (RFC 8705):
    # "none", "tls" (this server terminates TLS) or "header" (a TLS terminator at one of
    # client_certificate_proxies forwards it in client_certificate_header).
    access_token_algorithm: str = "Ed25519"  # noqa: S105  # an algorithm name, not a secret
    client_certificate_source: CertificateSourceMode = "none"
    client_certificate_header: str = "Client-Cert"
    client_certificate_proxies: str = ""
    # The keyring file at rest (gateway/keystore.py): encrypted under keyring_key (base64 of 32
    # bytes, best from KETENPOORT_KEYRING_KEY_FILE), or by an AES key inside a PKCS#11 token;
    # neither set: a plaintext file readable by its owner only.
    keyring_key: str = ""
    pkcs11_module: str = ""
    pkcs11_token_label: str = ""
    pkcs11_pin: str = ""
    pkcs11_key_label: str = "ketenpoort-keyring"
    # After `ketenpoort keys rotate --kind webhook`, deliveries carry the old key's signature
    # next to the new one for this long, so receivers can switch keys in their own time.
    webhook_signature_overlap_seconds: float = 7 * 86_400.0

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.instance_path / 'ketenpoort.sqlite3'}"
            )
        if self.policy_engine not in ("regopy", "opa"):
            raise SettingsError(
                f"policy_engine must be 'regopy' or 'opa', not {self.policy_engine!r}"
            )
        if self.sqlite_synchronous not in ("FULL", "NORMAL"):
            raise SettingsError(
                f"sqlite_synchronous must be 'FULL' or 'NORMAL', not {self.sqlite_synchronous!r}"
            )
        if self.task_mode not in ("inprocess", "celery"):
            raise SettingsError(
                f"task_mode must be 'inprocess' or 'celery', not {self.task_mode!r}"
            )
        if min(self.audit_max_lag_seconds, self.sequencer_interval_seconds,
               self.outbox_sweep_seconds, self.retention_interval_seconds) <= 0:
            raise SettingsError(
                "audit_max_lag_seconds, sequencer_interval_seconds, outbox_sweep_seconds and "
                "retention_interval_seconds must be > 0"
            )
        if min(self.access_token_ttl_seconds, self.max_body_bytes, self.token_requests_per_client,
               self.token_requests_per_address) <= 0:
            raise SettingsError("access_token_ttl_seconds, max_body_bytes and the token request "
                                "limits must be positive")
        try:
            if self.clock_start:
                parse_moment(self.clock_start)
        except ClockError as exc:
            raise SettingsError(f"clock_start: {exc}") from exc
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"log_level must be one of {', '.join(LOG_LEVELS)}, "
                                f"not {self.log_level!r}")
        self._check_key_settings()
        if self.policy_reload_seconds < 0:
            raise SettingsError("policy_reload_seconds must not be negative")
        if self.reidentification_limit < 1 or self.reidentification_period_seconds <= 0:
            raise SettingsError(
                "reidentification_limit and reidentification_period_seconds must be positive"
            )
        if self.outbox_max_attempts < 1 or self.outbox_lease_seconds <= (
            self.webhook_timeout_seconds
        ):
            raise SettingsError(
                "outbox_max_attempts must be positive and outbox_lease_seconds must exceed "
                "webhook_timeout_seconds (a lease must outlive the send it guards)"
            )

        self.webhook_egress_hosts  # noqa: B018  # parsed once here, so a typo stops the start
        self.client_certificate_settings  # noqa: B018  # likewise

    @property
    def client_certificate_settings(self) -> ClientCertificateSource:
        """Where requests' client certificates come from, checked (with the token algorithm,
        the other setting of how partners connect)."""
        if self.access_token_algorithm not in ACCESS_TOKEN_ALGORITHMS:
            raise SettingsError("access_token_algorithm must be one of "
                                f"{', '.join(ACCESS_TOKEN_ALGORITHMS)}, "
                                f"not {self.access_token_algorithm!r}")
        if self.client_certificate_source not in CERTIFICATE_SOURCE_MODES:
            raise SettingsError("client_certificate_source must be one of "
                                f"{', '.join(CERTIFICATE_SOURCE_MODES)}, "
                                f"not {self.client_certificate_source!r}")
        try:
            proxies = parse_proxies(self.client_certificate_proxies)
        except ValueError as exc:
            raise SettingsError(f"client_certificate_proxies: {exc}") from exc
        if self.client_certificate_source == "header" and not proxies:
            raise SettingsError("client_certificate_source 'header' needs "
                                "client_certificate_proxies: the addresses of the TLS "
                                "terminators whose header is believed")
        return ClientCertificateSource(self.client_certificate_source,
                                       self.client_certificate_header, proxies)

    def _check_key_settings(self) -> None:
        if self.webhook_signature_overlap_seconds < 0:
            raise SettingsError("webhook_signature_overlap_seconds must not be negative")

    @property
    def webhook_egress_hosts(self) -> dict[str, frozenset[str]]:
        """:attr:`webhook_egress` as partner id -> allowed hosts (lower case)."""
        allowed: dict[str, frozenset[str]] = {}
        for entry in filter(None, (e.strip() for e in self.webhook_egress.split(";"))):
            partner, separator, hosts = entry.partition("=")
            names = frozenset(h.strip().lower() for h in hosts.split(",") if h.strip())
            if not separator or not partner.strip() or not names:
                raise SettingsError(f"webhook_egress: {entry!r} is not 'partner=host[,host]'")
            allowed[partner.strip()] = names
        return allowed

    @property
    def keyring_path(self) -> Path:
        return self.instance_path / "keyring.json"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        _refuse_unknown_variables(env, cls.variable_names())
        values: dict[str, Any] = {}
        converters: dict[str, Any] = {
            "instance_path": lambda v: Path(v).resolve(),
            "policies_path": lambda v: Path(v).resolve(),
            "access_token_ttl_seconds": int,
            "token_requests_per_client": int,
            "token_requests_per_address": int,
            "max_body_bytes": int,
            "opa_timeout_seconds": float,
            "policy_reload_seconds": float,
            "audit_max_lag_seconds": float,
            "sequencer_interval_seconds": float,
            "run_sequencer_in_process": _boolean,
            "run_background_workers": _boolean,
            "broker_connect_timeout_seconds": float,
            "outbox_max_attempts": int,
            "outbox_backoff_seconds": float,
            "outbox_max_backoff_seconds": float,
            "outbox_lease_seconds": float,
            "outbox_sweep_seconds": float,
            "retention_interval_seconds": float,
            "reidentification_retention_months": int,
            "outbox_retention_days": int,
            "webhook_timeout_seconds": float,
            "webhook_signature_overlap_seconds": float,
            "smtp_port": int,
            "smtp_starttls": _boolean,
            "reidentification_limit": int,
            "reidentification_period_seconds": float,
            "reidentification_four_eyes_minors": _boolean,
            "reidentification_min_reason_length": int,
            "log_level": str.upper,
        }
        for name in cls.__dataclass_fields__:
            key = _variable(name)
            raw = _secret_from_file(env, key) if name in SECRET_SETTINGS else None
            if raw is None and key in env:
                raw = env[key]
            if raw is not None:
                try:
                    values[name] = converters.get(name, str)(raw)
                except ValueError as exc:
                    raise SettingsError(f"{key}: {exc}") from exc
        return cls(**values)

    @classmethod
    def variable_names(cls) -> frozenset[str]:
        """Every environment variable the settings read."""
        names = {_variable(name) for name in cls.__dataclass_fields__}
        return frozenset(names | {_variable(name) + FILE_SUFFIX for name in SECRET_SETTINGS})


def _variable(name: str) -> str:
    if name in FOREIGN_NAMES:
        return FOREIGN_NAMES[name]
    return ENV_PREFIX + {"instance_path": "INSTANCE"}.get(name, name.upper())


def _refuse_unknown_variables(env: Mapping[str, str], known: frozenset[str]) -> None:
    """A misspelt variable would be ignored and its default used: stop instead, and name it."""
    for key in sorted(env):
        if (key.startswith(ENV_PREFIX) and key not in known
                and key not in OTHER_PROGRAMS_VARIABLES
                and not key.startswith(OTHER_PROGRAMS_PREFIX)):
            # Compared without the prefix every name shares, which would make any two look alike.
            names = sorted(name.removeprefix(ENV_PREFIX) for name in known
                           if name.startswith(ENV_PREFIX))
            close = difflib.get_close_matches(key.removeprefix(ENV_PREFIX), names, n=1)
            hint = (f"; did you mean {ENV_PREFIX}{close[0]}?" if close
                    else "; see README \"Configuration\"")
            raise SettingsError(f"unknown setting {key}{hint}")


def _secret_from_file(env: Mapping[str, str], key: str) -> str | None:
    """The secret in the file ``<key>_FILE`` names (one trailing newline dropped), if set."""
    file_key = key + FILE_SUFFIX
    if file_key not in env:
        return None
    if key in env:
        raise SettingsError(f"set {key} or {file_key}, not both")
    try:
        text = Path(env[file_key]).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{file_key}: cannot read {env[file_key]}: {exc.strerror}") from exc
    return text.removesuffix("\n")


def _boolean(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean (true/false)")
