"""The authentication contract other packages depend on.

Views receive a :class:`Principal`; they never see tokens, clients or keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.ports import Caller

SCOPES = (
    "exchange:write",
    "inbox:read",
    "audit:read",
    "audit:own",
    "reidentify",
    "linkage:read",
    "linkage:write",
    "case:write",
    "case:read",
    "meeting:admin",
    "meeting:read",
    "statistics:read",
    "rights:write",
)



def check_known_scopes(scopes: tuple[str, ...]) -> None:
    """Fail where a guard is defined: a misspelt scope would lock its view for everyone."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")


#: Client authentication methods accepted at the token endpoint (RFC 7591 names).
CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 -- a method name, not a secret
PRIVATE_KEY_JWT = "private_key_jwt"
TOKEN_ENDPOINT_AUTH_METHODS = (CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the partner organisation, its client, the granted scopes and the token."""

    partner_id: str
    client_id: str
    scopes: frozenset[str]
    token_id: str
    oin: str | None = None  # the partner's OIN, where the registry gives one

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def caller(self, transaction_id: str | None = None) -> Caller:
        """The principal as the services see it: a partner acting through a client, in the
        FSC transaction ``transaction_id``."""
        return Caller(self.partner_id, self.client_id, transaction_id=transaction_id)


class RevocationCheck(Protocol):
    """Answers whether a client may no longer use the tokens it holds.

    Unknown clients count as revoked: a token for a client that no longer exists is not honoured.
    """

    def __call__(self, client_id: str) -> bool: ...


class ClientError(ValueError):
    """A client cannot be created or changed as asked; the message says why."""


class CertificateRequired(ClientError):
    """The partner's tokens must be bound to its client certificate, and none (or another
    organisation's) came with the request."""


class UnknownClient(ClientError):
    """No active client has the given id."""


class InvalidToken(Exception):
    """An access token is not acceptable; ``reason`` says why (for logs, not for attackers)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
