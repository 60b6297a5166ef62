"""Builds every service from settings once; views, CLI and tasks look services up here.

This is the only place that knows which implementation stands behind each interface, so the
embedded default and production differ in settings, never in code paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from audit.services import AuditLog
from gateway.auditing.runner import AuditGate, SequencerRunner
from gateway.auth.services import ClientService, TokenService
from gateway.cases.services import BundleParties, CaseService
from gateway.clock import Clock, clock_starting_at
from gateway.db import make_engine, make_session_factory
from gateway.delivery.services import InboxService
from gateway.exchange.services import ExchangeService
from gateway.identity.envelope import ContentSealer
from gateway.identity.reidentification import ReidentificationRules, ReidentificationService
from gateway.identity.rotation import KeyRotation, ShredPurge
from gateway.identity.services import IdentityVault, Pseudonymiser, derive_key
from gateway.identity.translation import PseudonymTranslation
from gateway.keys import Keyring
from gateway.linkage.encoding import BloomEncoder
from gateway.linkage.services import LinkageService, ShredAndForget, reviewing_partners
from gateway.meetings.routing import AgendaRouter
from gateway.meetings.services import MeetingService
from gateway.outbox.dispatcher import Dispatcher
from gateway.outbox.runner import BackgroundDrainer
from gateway.outbox.services import Outbox
from gateway.outbox.tasks import RETENTION_INTERVAL_SECONDS
from gateway.outbox.wiring import build_outbox
from gateway.policy.covenants import PolicyBundle
from gateway.policy.reload import ReloadingPolicyService
from gateway.retention.services import RetentionService
from gateway.settings import Settings
from gateway.workspace.oidc import load_providers
from gateway.workspace.wiring import Workspace, build_workspace

REQUEST_DIGEST_INFO = b"ketenpoort/exchange/request-digest"


@dataclass(frozen=True)
class BundleCatalogue:
    """The current policy bundle seen through what request validation needs."""

    policy: ReloadingPolicyService

    @property
    def bundle(self) -> PolicyBundle:
        return self.policy.bundle

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
    clock: Clock
    keyring: Keyring
    session_factory: sessionmaker[Session]
    policy: ReloadingPolicyService
    vault: IdentityVault
    pseudonymiser: Pseudonymiser
    audit: AuditLog
    clients: ClientService
    tokens: TokenService
    exchanges: ExchangeService
    inbox: InboxService
    linkage: LinkageService
    outbox: Outbox
    outbox_dispatcher: Dispatcher
    outbox_drainer: BackgroundDrainer | None  # the embedded drainer; None in celery mode
    retention: RetentionService
    cases: CaseService
    meetings: MeetingService
    audit_gate: AuditGate
    reidentifications: ReidentificationService
    pseudonym_translation: PseudonymTranslation
    workspace: Workspace
    sequencer: SequencerRunner | None = None  # started per gunicorn worker by gateway.server

    @property
    def bundle(self) -> PolicyBundle:
        """The bundle in force now; it follows ``ketenpoort covenant publish`` without restart."""
        return self.policy.bundle


def build_container(
    settings: Settings, *, bind: Engine | Connection | None = None, keyring: Keyring | None = None,
    clock: Clock | None = None,
) -> Container:
    clock = clock or clock_starting_at(settings.clock_start)
    keyring = keyring or Keyring.load(settings.keyring_path)
    session_factory = make_session_factory(bind or make_engine(settings.database_url))
    policy = ReloadingPolicyService.from_settings(settings)
    vault = IdentityVault(keyring, settings.keyring_path)
    pseudonymiser = Pseudonymiser(keyring)
    content = ContentSealer(keyring)
    audit = AuditLog()
    linkage = build_linkage(keyring, session_factory, policy=policy, vault=vault,
                            pseudonymiser=pseudonymiser, audit=audit)
    outbox = build_outbox(settings, keyring, session_factory, vault, audit)
    retention = RetentionService(
        session_factory, lambda: policy.bundle, ShredAndForget(vault), audit, clock,
        after_shredding=ShredPurge(KeyRotation(settings.keyring_path, session_factory, audit,
                                               actor="retention")))
    if outbox.drainer is not None:  # embedded mode: the drainer thread runs what beat would
        outbox.drainer.every(RETENTION_INTERVAL_SECONDS, retention.run)
    audit_gate = AuditGate(session_factory, settings.audit_max_lag_seconds)
    parties = BundleParties(policy)
    cases = CaseService(session_factory=session_factory, parties=parties, vault=vault,
                        pseudonyms=pseudonymiser, audit=audit, clock=clock)
    meetings = MeetingService(
        session_factory=session_factory, cases=cases, parties=parties,
        router=AgendaRouter(policy), pseudonyms=pseudonymiser, outbox=outbox.outbox,
        audit=audit, clock=clock,
    )
    # A case change republishes the agendas that discuss the case, in the same transaction.
    cases.listeners.append(meetings.case_changed)
    return Container(
        settings=settings,
        clock=clock,
        keyring=keyring,
        session_factory=session_factory,
        policy=policy,
        vault=vault,
        pseudonymiser=pseudonymiser,
        audit=audit,
        clients=ClientService(clock.now),
        tokens=TokenService(keyring, settings.issuer, settings.audience,
                            settings.access_token_ttl_seconds, clock=clock.now),
        exchanges=ExchangeService(
            session_factory=session_factory,
            catalogue=BundleCatalogue(policy),
            policy=policy,
            vault=vault,
            pseudonyms=pseudonymiser,
            audit=audit,
            digest_key=derive_key(keyring.secret("blind-index"), REQUEST_DIGEST_INFO),
            clock=clock,
            linkage=linkage,
            outbox=outbox.outbox,
            audit_gate=audit_gate,
            cases=cases,
            content=content,
        ),
        inbox=InboxService(session_factory=session_factory, vault=vault, audit=audit,
                           content=content),
        linkage=linkage,
        outbox=outbox.outbox,
        outbox_dispatcher=outbox.dispatcher,
        outbox_drainer=outbox.drainer,
        retention=retention,
        cases=cases,
        meetings=meetings,
        audit_gate=audit_gate,
        reidentifications=ReidentificationService(
            session_factory=session_factory, vault=vault, policy=policy, audit=audit,
            rules=reidentification_rules(settings), clock=clock, cases=cases,
        ),
        pseudonym_translation=PseudonymTranslation(
            session_factory=session_factory, pseudonyms=pseudonymiser, audit_pseudonyms=vault,
            audit=audit,
        ),
        workspace=build_workspace(session_factory, keyring, clock, load_providers(
            settings.instance_path, policy.bundle.partner_ids())),
    )


def reidentification_rules(settings: Settings) -> ReidentificationRules:
    return ReidentificationRules(
        limit=settings.reidentification_limit,
        period_seconds=settings.reidentification_period_seconds,
        four_eyes_roles=frozenset(
            role.strip() for role in settings.reidentification_four_eyes_roles.split(",")
            if role.strip()
        ),
        four_eyes_minors=settings.reidentification_four_eyes_minors,
        min_reason_length=settings.reidentification_min_reason_length,
    )


def build_linkage(
    keyring: Keyring, session_factory: sessionmaker[Session], *, policy: ReloadingPolicyService,
    vault: IdentityVault, pseudonymiser: Pseudonymiser, audit: AuditLog,
) -> LinkageService:
    version = keyring.active_version("linkage")
    return LinkageService(
        session_factory=session_factory,
        encoder=BloomEncoder(keyring.secret("linkage", version)),
        key_version=version,
        pseudonyms=pseudonymiser,
        audit_pseudonyms=vault,
        audit=audit,
        # Follows covenant publications: whoever holds the "regie" role now reviews.
        reviewers=lambda: reviewing_partners(policy.bundle.data["ketenpoort"]["covenants"]),
    )
