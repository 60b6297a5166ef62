"""Builds every service from settings once; views, CLI and tasks look services up here.

This is the only place that knows which implementation stands behind each interface, so the
embedded default and production differ in settings, never in code paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from audit.services import AuditLog
from gateway.auth.services import ClientService, TokenService
from gateway.db import make_engine, make_session_factory
from gateway.delivery.services import InboxService
from gateway.exchange.services import ExchangeService
from gateway.identity.services import IdentityVault, Pseudonymiser, derive_key
from gateway.keys import Keyring
from gateway.policy.covenants import PolicyBundle
from gateway.policy.services import PolicyService, engine_for
from gateway.settings import Settings

COVENANT_ZONE = ZoneInfo("Europe/Amsterdam")
REQUEST_DIGEST_INFO = b"ketenpoort/exchange/request-digest"


def covenant_today() -> date:
    """Covenants are signed in Dutch dates; validity follows the Dutch calendar day."""
    return datetime.now(COVENANT_ZONE).date()


@dataclass(frozen=True)
class BundleCatalogue:
    """The policy bundle seen through what request validation needs."""

    bundle: PolicyBundle

    def partner_ids(self) -> frozenset[str]:
        return self.bundle.partner_ids()

    def covenant_purposes(self, covenant_id: str) -> frozenset[str] | None:
        covenant = self.bundle.covenant(covenant_id)
        return None if covenant is None else frozenset(covenant.purposes)

    def covenant_categories(self, covenant_id: str) -> frozenset[str] | None:
        covenant = self.bundle.covenant(covenant_id)
        return None if covenant is None else frozenset(covenant.categories)


@dataclass
class Container:
    settings: Settings
    keyring: Keyring
    session_factory: sessionmaker[Session]
    bundle: PolicyBundle
    policy: PolicyService
    vault: IdentityVault
    pseudonymiser: Pseudonymiser
    audit: AuditLog
    clients: ClientService
    tokens: TokenService
    exchanges: ExchangeService
    inbox: InboxService


def build_container(
    settings: Settings, *, bind: Engine | Connection | None = None, keyring: Keyring | None = None
) -> Container:
    keyring = keyring or Keyring.load(settings.keyring_path)
    session_factory = make_session_factory(bind or make_engine(settings.database_url))
    bundle = PolicyBundle.load(settings.policies_path)
    policy = PolicyService(engine_for(settings, bundle))
    vault = IdentityVault(keyring)
    pseudonymiser = Pseudonymiser(keyring)
    audit = AuditLog()
    return Container(
        settings=settings,
        keyring=keyring,
        session_factory=session_factory,
        bundle=bundle,
        policy=policy,
        vault=vault,
        pseudonymiser=pseudonymiser,
        audit=audit,
        clients=ClientService(),
        tokens=TokenService(keyring, settings.issuer, settings.audience,
                            settings.access_token_ttl_seconds),
        exchanges=ExchangeService(
            session_factory=session_factory,
            catalogue=BundleCatalogue(bundle),
            policy=policy,
            vault=vault,
            pseudonyms=pseudonymiser,
            audit=audit,
            digest_key=derive_key(keyring.secret("blind-index"), REQUEST_DIGEST_INFO),
            today=covenant_today,
        ),
        inbox=InboxService(session_factory=session_factory, vault=vault, audit=audit),
    )

