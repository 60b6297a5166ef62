"""The shared kernel: who is calling, and the ports the rooms depend on, declared once.

Every room (exchange, delivery, identity, linkage, cases, meetings, policy, retention, outbox,
auditing) names its collaborators through these types, never through another room's module, so
the rooms depend on this kernel and not on each other's internals. ``gateway/container.py``
decides which implementation stands behind each port.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

#: An Organisatie-identificatienummer (OIN, Logius' "OIN-stelsel"): twenty digits, the
#: number Digikoppeling and FSC name a government organisation by, and the one its PKIoverheid
#: certificate carries in the subject's serialNumber.
OIN_PATTERN = re.compile(r"[0-9]{20}")


def is_oin(candidate: object) -> bool:
    """Whether ``candidate`` has the form of an OIN (twenty ASCII digits, not all zero)."""
    return (isinstance(candidate, str) and OIN_PATTERN.fullmatch(candidate) is not None
            and candidate.strip("0") != "")


@dataclass(frozen=True)
class PartnerProfile:
    """How a registered partner connects: its OIN (beside the readable ``partner_id``) and
    whether its access tokens must be bound to a client certificate (RFC 8705)."""

    partner_id: str
    oin: str | None = None
    mutual_tls: bool = False


#: Looks a partner up in the registry in force; None for a partner that is not registered.
PartnerDirectory = Callable[[str], PartnerProfile | None]


@dataclass(frozen=True)
class Caller:
    """Who acts: a partner organisation through one of its clients, and, for a person signed in
    to the workspace, that person (absent for a partner system). ``transaction_id`` is the FSC
    transaction the act belongs to, where the caller's request named or was given one."""

    partner_id: str
    client_id: str
    person_id: str | None = None
    transaction_id: str | None = None

    def actor(self) -> dict[str, str]:
        """How audit entries name the acting partner, its client and, if any, the person."""
        named = {"partner": self.partner_id, "client": self.client_id}
        if self.person_id is not None:
            named["person"] = self.person_id
        return named


class IdentityError(ValueError):
    """Identifiers that cannot name a person, or a vault operation that cannot proceed."""


class SubjectShreddedError(IdentityError):
    """The subject's data key was destroyed; its identity can never be recovered."""


class AuditAppender(Protocol):
    """Appends one event to the access log inside the caller's transaction; returns its id."""

    def append(self, session: Session, event: dict[str, Any]) -> str: ...


class PseudonymSource(Protocol):
    """The stable pseudonym under which one recipient knows a subject."""

    def pseudonym(self, subject_id: str, recipient: str) -> str: ...


class AuditPseudonyms(Protocol):
    """The pseudonym under which the access log names a subject (never an identifier)."""

    def audit_pseudonym(self, subject_id: str) -> str: ...


class Shredder(AuditPseudonyms, Protocol):
    """Destroys what the vault holds about one subject (crypto-shredding), and names the subject
    in the log entry that records it."""

    def shred(self, session: Session, subject_id: str) -> None: ...
