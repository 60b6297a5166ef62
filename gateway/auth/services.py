"""Clients and access tokens: the core of the auth package, free of any web framework.

Access tokens are JWTs (RFC 9068 profile, ``typ: at+jwt``) signed with the keyring's Ed25519
``token-signing`` key, or its RSA ``token-signing-rsa`` key (RS256/PS256) where configured.
Verification pins the algorithm, so a token cannot choose how it is
checked (``alg: none``, or HMAC keyed with our public key, are refused before any crypto).
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key, OKPKey, RSAKey
from joserfc.jws import extract_compact
from joserfc.jwt import ClaimsOption
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.auth.interfaces import (
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT,
    SCOPES,
    CertificateRequired,
    ClientError,
    InvalidToken,
    Principal,
    RevocationCheck,
    UnknownClient,
)
from gateway.auth.models import OAuthClient, UsedClientAssertion
from gateway.auth.secret_hashing import hash_secret, secret_matches
from gateway.client_certificates import PresentedCertificate
from gateway.clock import SYSTEM_CLOCK
from gateway.db import core, session_now
from gateway.keys import Keyring, KeyringError
from gateway.ports import PartnerDirectory, PartnerProfile

log = logging.getLogger(__name__)

# ruff's S105 reads "TOKEN" in these names as a password; they are protocol names, not secrets.
TOKEN_ALGORITHM = "Ed25519"  # noqa: S105  # RFC 9864 fully-specified name
TOKEN_TYPE = "at+jwt"  # noqa: S105
TOKEN_SIGNING_KEY = "token-signing"  # noqa: S105
TOKEN_RSA_KEY = "token-signing-rsa"  # noqa: S105
#: The NL GOV OAuth profile's algorithms, both on the keyring's one RSA token key.
RSA_TOKEN_ALGORITHMS = ("RS256", "PS256")
#: The claim naming the partner's OIN (Organisatie-identificatienummer), beside ``partner_id``.
OIN_CLAIM = "oin"
#: RFC 8705 section 3.1: the confirmation member of a certificate-bound token.
CERTIFICATE_THUMBPRINT = "x5t#S256"
#: Allowance for clocks of gateway instances and partner systems that disagree slightly.
CLOCK_SKEW_SECONDS = 30
#: After a token key rotation, workers not yet restarted may sign with the old key for a while:
#: the old key verifies for one token lifetime plus this long.
KEY_ROLLOVER_GRACE = timedelta(minutes=5)
VERIFIED_TOKEN_CACHE_SIZE = 4096
#: At most one keyring reload per this long for tokens naming an unknown kid (see TokenService).
KEY_RELOAD_INTERVAL = timedelta(seconds=30)

#: Algorithms a partner may sign a client assertion with, and the keys that go with them.
ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256", "Ed25519", "EdDSA")
_ASSERTION_CURVES = {"EC": "P-256", "OKP": "Ed25519"}
_MIN_RSA_BITS = 2048
# JWK members that carry private or symmetric key material (RFC 7518 section 6).
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# Built once (see gateway.db): the revocation check runs on every authenticated request.
_REVOKED_AT = select(OAuthClient.revoked_at).where(
    OAuthClient.client_id == bindparam("client_id")
)

_CLIENT_ID_BYTES = 16
_CLIENT_ID = re.compile(f"[0-9a-f]{{{2 * _CLIENT_ID_BYTES}}}")

Clock = Callable[[], datetime]


class ClientService:
    """Creates, finds, re-keys and revokes OAuth clients; authenticates their secrets."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK.now) -> None:
        self._clock = clock

    def create(
        self,
        session: Session,
        partner_id: str,
        scopes: Iterable[str],
        known_partners: frozenset[str],
    ) -> tuple[OAuthClient, str]:
        """A new ``client_secret_basic`` client and its secret, which is shown this once only."""
        if partner_id not in known_partners:
            raise ClientError(f"unknown partner {partner_id!r}")
        granted = _checked_scopes(scopes)
        secret = secrets.token_urlsafe(32)
        client = OAuthClient(
            client_id=secrets.token_hex(_CLIENT_ID_BYTES),
            secret_hash=hash_secret(secret),
            partner_id=partner_id,
            scopes=" ".join(sorted(granted)),
            token_endpoint_auth_method=CLIENT_SECRET_BASIC,
            created_at=self._clock(),
        )
        session.add(client)
        session.flush()
        return client, secret

    def register_jwk(
        self, session: Session, client_id: str, jwk: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a public key and switch the client to ``private_key_jwt``; returns the stored JWK.

        The client's secret is deleted: a client authenticates one way only, and a secret that
        no longer works should not be kept where it could leak.
        """
        client = self._active(session, client_id)
        public_jwk = public_assertion_jwk(jwk)
        keys = list((client.jwks or {}).get("keys", []))
        if any(existing.get("kid") == public_jwk["kid"] for existing in keys):
            raise ClientError(f"client {client_id!r} already has a key {public_jwk['kid']!r}")
        client.jwks = {"keys": [*keys, public_jwk]}
        client.token_endpoint_auth_method = PRIVATE_KEY_JWT
        client.secret_hash = None
        session.flush()
        return public_jwk

    def authenticate_secret(
        self, session: Session, client_id: str, secret: str
    ) -> OAuthClient | None:
        """The active client with this id and secret, or None.

        An unknown or revoked id is refused without running scrypt: client ids are 128 random
        bits, so telling "no such client" by the faster answer reveals nothing guessable,
        while hashing every guess made each random request cost tens of milliseconds of CPU.
        """
        client = self.find_active(session, client_id)
        if client is not None and secret_matches(secret, client.secret_hash):
            return client
        return None

    def revoke(self, session: Session, client_id: str) -> OAuthClient:
        """Stop the client: no new tokens, and tokens already issued are refused."""
        client = self._active(session, client_id)
        client.revoked_at = self._clock()
        session.flush()
        return client

    def find_active(self, session: Session, client_id: str) -> OAuthClient | None:
        if not _is_client_id(client_id):
            # Not one of ours; and never sent to the database, where a NUL byte is an error.
            return None
        client = session.get(OAuthClient, client_id)
        return None if client is None or client.is_revoked else client

    def is_active(self, session: Session, client_id: str) -> bool:
        """:meth:`find_active` for the revocation check on every request: one column, no object."""
        if not _is_client_id(client_id):
            return False
        found = core(session).execute(_REVOKED_AT, {"client_id": client_id}).first()
        return found is not None and found.revoked_at is None

    def spend_assertion(
        self, session: Session, client_id: str, jti: str, expires_at: datetime
    ) -> bool:
        """Record a client assertion's ``jti``; False when it was used before (a replay)."""
        session.execute(
            delete(UsedClientAssertion).where(
                UsedClientAssertion.client_id == client_id,
                UsedClientAssertion.expires_at < self._clock(),
            )
        )
        try:
            with session.begin_nested():
                session.add(
                    UsedClientAssertion(client_id=client_id, jti=jti, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True

    def _active(self, session: Session, client_id: str) -> OAuthClient:
        client = self.find_active(session, client_id)
        if client is None:
            raise UnknownClient(f"no active client {client_id!r}")
        return client


def _check_certificate(
    profile: PartnerProfile | None, certificate: PresentedCertificate | None
) -> None:
    """A partner requiring mutual TLS asks for tokens over it, with its own certificate:
    a PKIoverheid certificate names its organisation's OIN in the subject's serialNumber."""
    if profile is None or not profile.mutual_tls:
        return
    if certificate is None:
        raise CertificateRequired(
            f"partner {profile.partner_id!r} requires mutual TLS: present its client certificate")
    if profile.oin is not None and certificate.subject_serial_number != profile.oin:
        raise CertificateRequired(
            f"the client certificate does not name partner {profile.partner_id!r}'s OIN")


def revocation_check(session: Session) -> RevocationCheck:
    """A :class:`RevocationCheck` that looks clients up in ``session``."""
    clients = ClientService(lambda: session_now(session))

    def is_revoked(client_id: str) -> bool:
        return not clients.is_active(session, client_id)

    return is_revoked


def _is_client_id(candidate: str) -> bool:
    return _CLIENT_ID.fullmatch(candidate) is not None


def public_assertion_jwk(candidate: Mapping[str, Any]) -> dict[str, Any]:
    """The public JWK to store for verifying client assertions, with a ``kid``.

    Refuses private material (it must never reach the gateway), symmetric keys, curves and
    sizes outside what :data:`ASSERTION_ALGORITHMS` can verify, and keys meant for encryption.
    """
    if not isinstance(candidate, Mapping):
        raise ClientError("a JWK must be a JSON object")
    if _PRIVATE_JWK_MEMBERS & candidate.keys():
        raise ClientError("the JWK holds private key material; register the public key only")
    _check_key_type(candidate)
    if candidate.get("use", "sig") != "sig":
        raise ClientError("the JWK must be a signing key (use 'sig')")
    if "alg" in candidate and candidate["alg"] not in ASSERTION_ALGORITHMS:
        raise ClientError(f"JWK alg must be one of {', '.join(ASSERTION_ALGORITHMS)}")
    try:
        key = JWKRegistry.import_key(dict(candidate))
    except (JoseError, ValueError, TypeError) as exc:
        raise ClientError(f"not a valid JWK: {exc}") from None
    _check_rsa_size(key)
    public = key.as_dict(private=False)
    public.setdefault("kid", key.thumbprint())
    return public


def _check_key_type(candidate: Mapping[str, Any]) -> None:
    key_type = candidate.get("kty")
    if key_type == "RSA":
        return
    if key_type not in _ASSERTION_CURVES:
        raise ClientError(f"unsupported key type {key_type!r}; use RSA, EC P-256 or OKP Ed25519")
    if candidate.get("crv") != _ASSERTION_CURVES[key_type]:
        raise ClientError(f"{key_type} keys must use curve {_ASSERTION_CURVES[key_type]}")


def _check_rsa_size(key: Key) -> None:
    raw = key.raw_value
    if isinstance(raw, RSAPublicKey) and raw.key_size < _MIN_RSA_BITS:
        raise ClientError(f"RSA keys must have at least {_MIN_RSA_BITS} bits")


def _checked_scopes(scopes: Iterable[str]) -> frozenset[str]:
    granted = frozenset(scopes)
    if not granted:
        raise ClientError("a client needs at least one scope")
    unknown = granted - frozenset(SCOPES)
    if unknown:
        raise ClientError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    return granted


class TokenService:
    """Issues and verifies the gateway's access tokens.

    Tokens are signed with ``algorithm``: Ed25519, or RS256/PS256 with the keyring's RSA key.
    Every token key the keyring holds verifies, the token's ``alg`` choosing the key and the
    key fixing the algorithms it verifies with, so switching the setting leaves tokens already
    issued valid until they expire. A key replaced by ``ketenpoort keys rotate --kind token``
    (the Ed25519 one and the RSA one) keeps verifying until the last token it signed has
    expired.

    A token naming a ``kid`` this process does not know may come from a process that loaded
    the keyring after a rotation: the keys of ``reload_keyring`` are then added to those that
    verify before the token is refused, at most once per :data:`KEY_RELOAD_INTERVAL`, so
    made-up kids cannot make every request read the keyring.
    """

    def __init__(
        self,
        keyring: Keyring,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Clock = SYSTEM_CLOCK.now,
        *,
        algorithm: str = TOKEN_ALGORITHM,
        partners: PartnerDirectory = lambda _partner_id: None,
        reload_keyring: Callable[[], Keyring] | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock
        self._partners = partners
        self._algorithm = algorithm
        self._key_set = _TokenKeySet.of(keyring, algorithm, self._ttl)
        self._reload_keyring = reload_keyring
        self._reloaded_at: datetime | None = None
        self._reload_lock = threading.Lock()
        # The same token bytes under the same key always verify alike: a partner system
        # reuses its token for many requests, so each is verified once, not per request.
        # Expiry and the other claims are still checked on every call; failures are not kept.
        self._signature_checked = functools.lru_cache(maxsize=VERIFIED_TOKEN_CACHE_SIZE)(
            self._check_signature
        )

    def issue(
        self, client: OAuthClient, scopes: frozenset[str] | None = None,
        certificate: PresentedCertificate | None = None,
    ) -> dict[str, Any]:
        """An RFC 6749 token response for ``client``; ``scopes`` default to all it holds.

        With a client ``certificate`` the token is bound to it (RFC 8705 ``cnf``); a partner
        whose registry entry requires mutual TLS gets no token without one, nor with one that
        names another organisation's OIN.
        """
        granted = client.scope_set if scopes is None else scopes
        if client.is_revoked:
            raise ClientError(f"client {client.client_id!r} is revoked")
        if not granted <= client.scope_set:
            raise ClientError("requested scopes exceed the client's scopes")
        profile = self._partners(client.partner_id)
        _check_certificate(profile, certificate)
        now = self._clock()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": client.client_id,
            "client_id": client.client_id,  # RFC 9068 section 2.2
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "scope": " ".join(sorted(granted)),
            "partner_id": client.partner_id,
        }
        if profile is not None and profile.oin is not None:
            claims[OIN_CLAIM] = profile.oin
        if certificate is not None:
            claims["cnf"] = {CERTIFICATE_THUMBPRINT: certificate.thumbprint}
        signing = self._key_set.by_algorithm[self._algorithm]
        header = {"alg": self._algorithm, "kid": signing.kid, "typ": TOKEN_TYPE}
        access_token = jwt.encode(header, claims, signing.signing, algorithms=[self._algorithm])
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(self._ttl.total_seconds()),
            "scope": claims["scope"],
        }

    def verify(
        self, token: str, is_revoked: RevocationCheck,
        certificate: PresentedCertificate | None = None,
    ) -> Principal:
        """The principal a valid token stands for, or :class:`InvalidToken` saying why not.

        ``certificate`` is the client certificate of the request's connection: a
        certificate-bound token is honoured only with that very certificate (RFC 8705
        section 3), so a stolen token is useless without the private key beside it.
        """
        claims = self._verified_claims(token)
        scopes = frozenset(claims["scope"].split())
        unknown = scopes - frozenset(SCOPES)
        if unknown:
            raise InvalidToken(f"unknown scope(s): {', '.join(sorted(unknown))}")
        self._check_binding(claims, certificate)
        if is_revoked(claims["sub"]):
            raise InvalidToken("the client is revoked")
        return Principal(
            partner_id=claims["partner_id"],
            client_id=claims["sub"],
            scopes=scopes,
            token_id=claims["jti"],
            oin=claims.get(OIN_CLAIM),
        )

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set resource servers and auditors use to verify our tokens: every key that
        verifies, the one that signs now first, then the replaced ones whose tokens may not
        have expired yet."""
        ordered = sorted(self._key_set.by_algorithm.items(),
                         key=lambda item: item[0] != self._algorithm)
        published: dict[str, dict[str, Any]] = {}
        for algorithm, key in ordered:
            public = key.verifying.as_dict(private=False)
            published.setdefault(key.kid, {**public, "kid": key.kid, "use": "sig",
                                           "alg": algorithm})
        for kid, key in self._verifying_keys().items():
            published.setdefault(kid, {**key.verifying.as_dict(private=False), "kid": kid,
                                       "use": "sig", "alg": key.algorithms[0]})
        return {"keys": list(published.values())}

    def _verifying_keys(self) -> dict[str, _TokenKey]:
        """The keys a token may be signed with now: the current ones and the replaced ones
        still inside their overlap."""
        now, keys = self._clock(), self._key_set
        return {**keys.current_by_kid, **{
            kid: key for kid, (key, until) in keys.previous.items() if now < until}}

    def _check_binding(
        self, claims: Mapping[str, Any], certificate: PresentedCertificate | None
    ) -> None:
        confirmation = claims.get("cnf")
        if confirmation is None:
            profile = self._partners(claims["partner_id"])
            if profile is not None and profile.mutual_tls:
                # Issued before the partner's entry required mutual TLS: not honoured.
                raise InvalidToken("the partner requires certificate-bound tokens")
            return
        bound = confirmation.get(CERTIFICATE_THUMBPRINT) if isinstance(confirmation, dict) else None
        if not isinstance(bound, str):
            raise InvalidToken("cnf holds no x5t#S256 thumbprint")
        if certificate is None:
            raise InvalidToken("certificate-bound token presented without a client certificate")
        if not hmac.compare_digest(bound, certificate.thumbprint):
            raise InvalidToken("certificate-bound token presented with another certificate")

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            decoded = self._signature_checked(token)
            # No kid: it was checked against a current key (_check_signature).
            kid = decoded.header.get("kid")
            if kid is not None and kid not in self._verifying_keys():
                raise InvalidToken("signed by a retired key")
            self._claims_registry().validate(decoded.claims)
        except JoseError as exc:
            detail = f"{exc.error}: {exc.description}" if exc.description else exc.error
            raise InvalidToken(detail) from None
        claims = decoded.claims
        if not all(isinstance(claims[name], str) for name in ("scope", "partner_id")):
            raise InvalidToken("scope and partner_id must be strings")
        if claims["client_id"] != claims["sub"]:
            raise InvalidToken("client_id must name the subject of a client credentials token")
        return claims

    def _check_signature(self, token: str) -> jwt.Token:
        # The header's kid picks the key (a replaced one too: the cache outlives an overlap, so
        # whether it still counts is decided per call in _verified_claims), else its alg picks
        # one of the current keys; the key decides the algorithms it may be used with, so a
        # token cannot have an Ed25519 key read as an HMAC secret or the like.
        header = _unverified_header(token)
        kid = _named(header, "kid")
        if kid and self._key_set.named(kid) is None:
            self._reload_for(kid)
        keys = self._key_set
        key = keys.named(kid) if kid else keys.by_algorithm.get(
            _named(header, "alg"), keys.by_algorithm[TOKEN_ALGORITHM])
        if key is None:
            raise InvalidToken("signed by an unknown key")
        decoded = jwt.decode(token, key.verifying, algorithms=list(key.algorithms))
        if decoded.header.get("typ") != TOKEN_TYPE:
            raise InvalidToken(f"token type must be {TOKEN_TYPE}")
        return decoded

    def _reload_for(self, kid: str) -> None:
        """Read the keyring again for a token naming an unknown ``kid`` (a rotation since this
        process loaded it), unless that was done less than :data:`KEY_RELOAD_INTERVAL` ago."""
        if self._reload_keyring is None:
            return
        with self._reload_lock:
            now = self._clock()
            if self._reloaded_at is not None and now - self._reloaded_at < KEY_RELOAD_INTERVAL:
                return
            self._reloaded_at = now
            try:
                keyring = self._reload_keyring()
            except (OSError, ValueError, KeyringError) as error:
                # The keys in memory still verify what they verified; the token is refused.
                log.warning("token keys could not be reloaded: %s", error)
                return
            # One assignment: other threads verify with the old set or the new one, whole.
            self._key_set = self._key_set.with_verifying_keys_of(
                _TokenKeySet.of(keyring, self._algorithm, self._ttl))
        log.info("token keys reloaded for a token naming key %s", kid[:16])

    def _claims_registry(self) -> jwt.JWTClaimsRegistry:
        required: ClaimsOption = {"essential": True}
        return jwt.JWTClaimsRegistry(
            now=int(self._clock().timestamp()),
            leeway=CLOCK_SKEW_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            **dict.fromkeys(("sub", "client_id", "exp", "nbf", "iat", "jti", "scope",
                             "partner_id"), required),
        )


@dataclass(frozen=True)
class _TokenKey:
    signing: Key
    verifying: Key
    algorithms: tuple[str, ...]
    kid: str


@dataclass(frozen=True)
class _TokenKeySet:
    """The token keys of one reading of the keyring; replaced whole, never changed in place."""

    by_algorithm: dict[str, _TokenKey]
    current_by_kid: dict[str, _TokenKey]
    # Keys earlier rotations replaced, by kid, with the moment they stop verifying: the last
    # token they signed has expired by then.
    previous: dict[str, tuple[_TokenKey, datetime]]

    @classmethod
    def of(cls, keyring: Keyring, algorithm: str, ttl: timedelta) -> _TokenKeySet:
        by_algorithm = _token_keys(keyring, algorithm)
        replaced: list[tuple[_TokenKey, datetime]] = [
            *((_token_key(OKPKey.import_key(k.public_key), (TOKEN_ALGORITHM,)), k.rotated_at)
              for k in keyring.previous_keys(TOKEN_SIGNING_KEY)),
            *((_token_key(RSAKey.import_key(k.public_key), RSA_TOKEN_ALGORITHMS), k.rotated_at)
              for k in keyring.previous_rsa_keys(TOKEN_RSA_KEY)),
        ]
        previous = {key.kid: (key, rotated_at + ttl + KEY_ROLLOVER_GRACE)
                    for key, rotated_at in replaced}
        return cls(by_algorithm, {key.kid: key for key in by_algorithm.values()}, previous)

    def with_verifying_keys_of(self, fresh: _TokenKeySet) -> _TokenKeySet:
        """This set, also verifying with the keys of ``fresh``. Signing stays with this set's
        key until the process restarts (a replaced key verifies elsewhere for a token lifetime
        and a grace period for that reason), and nothing this set verifies is dropped."""
        return _TokenKeySet(self.by_algorithm, {**fresh.current_by_kid, **self.current_by_kid},
                            {**fresh.previous, **self.previous})

    def named(self, kid: str) -> _TokenKey | None:
        """The current or replaced key ``kid`` (whether a replaced one still counts is decided
        per call, see :meth:`TokenService._verifying_keys`)."""
        previous = self.previous.get(kid)
        return self.current_by_kid.get(kid) or (None if previous is None else previous[0])


def _token_keys(keyring: Keyring, algorithm: str) -> dict[str, _TokenKey]:
    """The token keys by algorithm: Ed25519 always; RS256 and PS256 on the one RSA key when
    the keyring has it (and it must, when ``algorithm`` is one of them)."""
    ed25519 = OKPKey.import_key(keyring.signing_key(TOKEN_SIGNING_KEY))
    keys = {TOKEN_ALGORITHM: _token_key(ed25519, (TOKEN_ALGORITHM,))}
    if algorithm in RSA_TOKEN_ALGORITHMS or TOKEN_RSA_KEY in keyring.rsa_signing:
        rsa_key = RSAKey.import_key(keyring.rsa_key(TOKEN_RSA_KEY))
        for rsa_algorithm in RSA_TOKEN_ALGORITHMS:
            keys[rsa_algorithm] = _token_key(rsa_key, RSA_TOKEN_ALGORITHMS)
    if algorithm not in keys:
        raise ValueError(f"unknown access token algorithm {algorithm!r}")
    return keys


def _token_key(private: Key, algorithms: tuple[str, ...]) -> _TokenKey:
    verifying = JWKRegistry.import_key(private.as_dict(private=False))
    return _TokenKey(private, verifying, algorithms, verifying.thumbprint())


def _unverified_header(token: str) -> dict[str, Any]:
    """A compact JWS's header, unverified: its ``kid`` and ``alg`` only choose the key to check
    with; empty where there is none (decoding then says why)."""
    try:
        return dict(extract_compact(token.encode()).headers())
    except (JoseError, ValueError, UnicodeError):
        return {}


def _named(header: dict[str, Any], name: str) -> str:
    value = header.get(name)
    return value if isinstance(value, str) else ""
