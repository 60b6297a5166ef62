"""Builds every service from settings once; views, CLI and tasks take their services here.

This is the only place that knows which implementation stands behind each interface, so the
embedded default and production differ in settings, never in code paths
(``tests/test_architecture.py`` checks that no other module constructs a service). HTTP views
reach it with :func:`current_container`; the ``ketenpoort`` CLI opens one per command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.email import EmailChannel
from adapters.interfaces import OutboundChannel
from adapters.webhook import WebhookChannel
from audit.log import AuditLog, CheckpointSigner, Sequencer
from gateway.auditing.runner import CHECKPOINT_KEY, AuditGate, SequencerRunner
from gateway.auditing.services import AuditReader
from gateway.auditing.subject_access import SubjectAccessService
from gateway.auth.rate_limit import SharedLimit, TokenRequestLimits
from gateway.auth.services import KEY_ROLLOVER_GRACE, ClientService, TokenService
from gateway.background.broker import CeleryPublisher, OffRequestPublisher, make_celery
from gateway.background.embedded import BackgroundDrainer
from gateway.cases.services import BundleParties, CaseService
from gateway.client_certificates import ClientCertificateSource
from gateway.clock import Clock, clock_starting_at
from gateway.db import GroupCommitter, clock_of, make_engine, make_session_factory
from gateway.delivery.messages import Notifier
from gateway.delivery.services import InboxService
from gateway.exchange.services import ExchangeService
from gateway.identity.envelope import ContentSealer
from gateway.identity.reidentification import ReidentificationRules, ReidentificationService
from gateway.identity.rotation import KeyRotation, ShredPurge
from gateway.identity.services import IdentityVault, Pseudonymiser, derive_key
from gateway.identity.translation import PseudonymTranslation
from gateway.keys import Keyring
from gateway.keystore import keyring_sealer
from gateway.linkage.encoding import BloomEncoder
from gateway.linkage.services import LinkageService, ShredAndForget, reviewing_partners
from gateway.meetings.routing import AgendaRouter
from gateway.meetings.services import MeetingService
from gateway.observability.metrics import GatewayMetrics
from gateway.observability.services import OperationalState
from gateway.outbox.dispatcher import Dispatcher, RetryPolicy
from gateway.outbox.interfaces import EMAIL, WEBHOOK, WEBHOOK_SIGNING_KEY, Publisher
from gateway.outbox.rendering import (
    EXCHANGE_DELIVERY,
    EmailText,
    ExchangeDeliveryRenderer,
    PayloadAsIs,
)
from gateway.outbox.services import ChannelDirectory, Outbox, WebhookSecrets
from gateway.policy.covenants import PolicyBundle
from gateway.policy.publish import CovenantPublisher
from gateway.policy.reload import ReloadingPolicyService
from gateway.policy.services import PolicyService, engine_for
from gateway.ports import PartnerProfile
from gateway.problems import FieldError
from gateway.retention.services import HousekeepingTerms, RetentionService
from gateway.rights.services import NOTICE_KINDS, NoticeRenderer, SubjectRights
from gateway.settings import Settings
from gateway.statistics.services import StatisticsService
from gateway.workspace.oidc import load_providers
from gateway.workspace.wiring import Workspace, build_workspace

REQUEST_DIGEST_INFO = b"ketenpoort/exchange/request-digest"
RATE_LIMIT_INFO = b"ketenpoort/auth/rate-limit"


@dataclass(frozen=True)
class BundleCatalogue:
    """The current policy bundle seen through what request validation needs."""

    policy: ReloadingPolicyService

    @property
    def bundle(self) -> PolicyBundle:
        return self.policy.bundle

    def partner_ids(self) -> frozenset[str]:
        return self.bundle.partner_ids()

    def partner(self, partner_id: str) -> PartnerProfile | None:
        return self.bundle.partner(partner_id)

    def covenant_purposes(self, covenant_id: str) -> frozenset[str] | None:
        covenant = self.bundle.covenant(covenant_id)
        return None if covenant is None else frozenset(covenant.purposes)

    def covenant_categories(self, covenant_id: str) -> frozenset[str] | None:
        covenant = self.bundle.covenant(covenant_id)
        return None if covenant is None else frozenset(covenant.categories)

    def content_problems(self, category: str, content: dict[str, Any]) -> list[FieldError]:
        return self.bundle.content_problems(category, content)


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
    channels: ChannelDirectory
    audit_reader: AuditReader
    subject_access: SubjectAccessService
    covenant_publisher: CovenantPublisher
    shredder: ShredAndForget
    statistics: StatisticsService
    operations: OperationalState
    metrics: GatewayMetrics
    token_limits: TokenRequestLimits
    client_certificates: ClientCertificateSource
    webhook_secrets: WebhookSecrets
    workspace: Workspace
    rights: SubjectRights
    sequencer: SequencerRunner | None = None  # started per serving worker by gateway.background

    @property
    def bundle(self) -> PolicyBundle:
        """The bundle in force now; it follows ``ketenpoort covenant publish`` without restart."""
        return self.policy.bundle

    @property
    def known_partners(self) -> frozenset[str]:
        return self.bundle.partner_ids()

    def key_rotation(self, actor: str) -> KeyRotation:
        """Key rotation on behalf of ``actor`` (an operator, or ``retention``)."""
        return key_rotation(self.settings, self.session_factory, self.audit, actor, self.clock)

    def sequencer_runner(self, interval_seconds: float | None = None) -> SequencerRunner:
        """A sequencer signing with the keyring's checkpoint key; call ``start()`` on it."""
        interval = interval_seconds or self.settings.sequencer_interval_seconds
        return SequencerRunner(self.session_factory, self.sequencer_once(), interval,
                               clock=self.clock.now)

    def sequencer_once(self) -> Sequencer:
        """The sequencer signing with the keyring's checkpoint key, for one run by hand."""
        return Sequencer(self.session_factory,
                         CheckpointSigner(self.keyring.signing_key(CHECKPOINT_KEY)))

    def after_shredding(self, actor: str) -> ShredPurge:
        """The new master key epoch that follows a shredding by ``actor``."""
        return ShredPurge(self.key_rotation(actor))


def key_rotation(settings: Settings, session_factory: sessionmaker[Session], audit: AuditLog,
                 actor: str, clock: Clock) -> KeyRotation:
    return KeyRotation(settings.keyring_path, session_factory, audit, actor=actor,
                       sealer=keyring_sealer(settings), clock=clock,
                       signing_overlaps=signing_overlaps(settings))


def signing_overlaps(settings: Settings) -> dict[str, timedelta]:
    """How long a replaced token or webhook key keeps verifying; checkpoint keys: for ever."""
    return {
        "token": timedelta(seconds=settings.access_token_ttl_seconds) + KEY_ROLLOVER_GRACE,
        "webhook": timedelta(seconds=settings.webhook_signature_overlap_seconds),
    }


def current_container() -> Container:
    """The container of the Flask application handling the current request."""
    return cast(Container, current_app.extensions["ketenpoort"])


def explaining_policy(settings: Settings, bundle: PolicyBundle) -> PolicyService:
    """The policy service ``covenant explain`` asks, uncached, with no instance needed."""
    return PolicyService(engine_for(settings, bundle), cache_size=0)


def build_container(
    settings: Settings, *, bind: Engine | Connection | None = None, keyring: Keyring | None = None,
    clock: Clock | None = None,
) -> Container:
    clock = clock or clock_starting_at(settings.clock_start)
    sealer = keyring_sealer(settings)
    keyring = keyring or Keyring.load(settings.keyring_path, sealer)
    session_factory = make_session_factory(
        bind or make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous),
        clock)
    policy = ReloadingPolicyService.from_settings(settings, clock.now)
    vault = IdentityVault(keyring, settings.keyring_path, sealer)
    pseudonymiser = Pseudonymiser(keyring)
    content = ContentSealer(keyring)

    def registered(partner_id: str) -> PartnerProfile | None:
        # Looked up per call, not bound once: the registry follows covenant publications.
        return policy.bundle.partner(partner_id)

    def registered_oin(partner_id: str) -> str | None:
        profile = registered(partner_id)
        return None if profile is None else profile.oin

    # Entries name each partner's OIN beside its slug, as the registry in force gives it.
    audit = AuditLog(clock.now, oins=registered_oin)
    linkage = build_linkage(keyring, session_factory, policy=policy, vault=vault,
                            pseudonymiser=pseudonymiser, audit=audit)
    outbox = build_outbox(settings, keyring, session_factory, vault, audit)
    shredder = ShredAndForget(vault)
    retention = RetentionService(
        session_factory, lambda: policy.bundle, shredder, audit, clock,
        HousekeepingTerms(settings.reidentification_retention_months,
                          settings.outbox_retention_days),
        after_shredding=ShredPurge(key_rotation(settings, session_factory, audit, "retention",
                                                clock)))
    audit_gate = AuditGate(session_factory, settings.audit_max_lag_seconds, clock=clock.now)
    parties = BundleParties(policy)
    notifier = Notifier(outbox.outbox, content, clock)
    cases = CaseService(session_factory=session_factory, parties=parties, vault=vault,
                        pseudonyms=pseudonymiser, audit=audit, clock=clock, notifier=notifier)
    meetings = MeetingService(
        session_factory=session_factory, cases=cases, parties=parties,
        router=AgendaRouter(policy), pseudonyms=pseudonymiser, outbox=outbox.outbox,
        audit=audit, clock=clock, notifier=notifier,
    )
    # A case change republishes the agendas that discuss the case, in the same transaction.
    cases.listeners.append(meetings.case_changed)
    rights = SubjectRights(
        session_factory=session_factory, vault=vault, pseudonyms=pseudonymiser,
        outbox=outbox.outbox, audit=audit, content=content,
        covenants=lambda: policy.bundle.data["ketenpoort"]["covenants"], clock=clock)
    operations = OperationalState(session_factory, clock.now)
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
                            settings.access_token_ttl_seconds, clock=clock.now,
                            algorithm=settings.access_token_algorithm,
                            partners=registered,
                            # A token from a process that loaded a rotated keyring.
                            reload_keyring=lambda: Keyring.read(settings.keyring_path, sealer)),
        client_certificates=settings.client_certificate_settings,
        webhook_secrets=WebhookSecrets(keyring),
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
            committer=GroupCommitter(session_factory),
            restrictions=rights,
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
        channels=outbox.channels,
        audit_reader=AuditReader(session_factory, audit, keyring),
        subject_access=SubjectAccessService(
            session_factory, audit, vault,
            lambda: policy.bundle.data["ketenpoort"]["covenants"], clock,
        ),
        covenant_publisher=CovenantPublisher(settings.policies_path, session_factory, audit),
        shredder=shredder,
        statistics=StatisticsService(session_factory, audit, clock),
        operations=operations,
        metrics=GatewayMetrics(operations, settings.prometheus_multiproc_dir),
        token_limits=token_request_limits(settings, session_factory, keyring, clock),
        rights=rights,
        workspace=build_workspace(session_factory, keyring, clock, load_providers(
            settings.instance_path, policy.bundle.partner_ids())),
    )


def token_request_limits(
    settings: Settings, session_factory: sessionmaker[Session], keyring: Keyring, clock: Clock
) -> TokenRequestLimits:
    digest_key = derive_key(keyring.secret("blind-index"), RATE_LIMIT_INFO)

    def per_minute(scope: str, limit: int) -> SharedLimit:
        return SharedLimit(scope, limit, 60, session_factory, digest_key, clock.now)

    return TokenRequestLimits(
        per_client=per_minute("token-client", settings.token_requests_per_client),
        per_address=per_minute("token-address", settings.token_requests_per_address),
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
        reviewers=lambda: reviewing_partners(policy.bundle.covenants()),
    )


@dataclass
class OutboxParts:
    outbox: Outbox
    dispatcher: Dispatcher
    drainer: BackgroundDrainer | None
    channels: ChannelDirectory


def build_outbox(
    settings: Settings, keyring: Keyring, session_factory: sessionmaker[Session],
    vault: IdentityVault, audit: AuditLog,
) -> OutboxParts:
    """The same dispatcher in both task modes; only who wakes it differs.

    ``inprocess``: the publisher wakes the embedded drainer (started for serving by
    :func:`gateway.background.start.start_serving`). ``celery``: one task per row, sent from a
    background thread in a serving process and directly elsewhere (a CLI command must not exit
    before its tasks are sent)."""
    content = ContentSealer(keyring)
    channels = ChannelDirectory()
    # E-mails link into the workspace at the gateway's public address.
    email = EmailText(settings.issuer)
    dispatcher = Dispatcher(
        session_factory=session_factory,
        directory=channels,
        channels=outbound_channels(settings, keyring),
        renderers={EXCHANGE_DELIVERY: ExchangeDeliveryRenderer(vault, content, email),
                   **dict.fromkeys(NOTICE_KINDS, NoticeRenderer())},
        default_renderer=PayloadAsIs(email),
        audit=audit,
        clock=clock_of(session_factory).now,
        policy=RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            backoff_seconds=settings.outbox_backoff_seconds,
            max_backoff_seconds=settings.outbox_max_backoff_seconds,
            lease_seconds=settings.outbox_lease_seconds,
        ),
        content=content,
    )
    drainer = None
    publisher: Publisher
    if settings.task_mode == "celery":
        publisher = CeleryPublisher(make_celery(settings), settings.task_queue)
        if settings.run_background_workers:
            publisher = OffRequestPublisher(publisher)
    else:
        drainer = publisher = BackgroundDrainer(dispatcher, settings.outbox_sweep_seconds)
    return OutboxParts(Outbox(publisher, content), dispatcher, drainer, channels)


def webhook_cosigning_keys(settings: Settings, keyring: Keyring
                           ) -> list[tuple[Ed25519PrivateKey, float]]:
    """Replaced webhook keys, each with the Unix time its co-signing ends."""
    overlap = settings.webhook_signature_overlap_seconds
    return [(key.private_key, key.rotated_at.timestamp() + overlap)
            for key in keyring.previous_keys(WEBHOOK_SIGNING_KEY) if key.private_key is not None]


def outbound_channels(settings: Settings, keyring: Keyring) -> dict[str, OutboundChannel]:
    # A keyring from before webhook signing has no key: webhooks then fail visibly (and
    # dead-letter) until `ketenpoort init` adds it, while everything else keeps working.
    channels: dict[str, OutboundChannel] = {
        WEBHOOK: WebhookChannel(keyring.signing.get(WEBHOOK_SIGNING_KEY),
                                WebhookSecrets(keyring), settings.webhook_timeout_seconds,
                                ca_bundle=settings.webhook_ca_bundle or None,
                                egress=settings.webhook_egress_hosts,
                                previous_keys=webhook_cosigning_keys(settings, keyring)),
    }
    if settings.smtp_host:
        channels[EMAIL] = EmailChannel(settings.smtp_host, settings.smtp_port,
                                       settings.smtp_sender, settings.smtp_starttls,
                                       ca_bundle=settings.smtp_ca_bundle or None)
    return channels
