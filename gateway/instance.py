"""Creating and opening an instance: its folder, keyring, database schema and demo region."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gateway import db
from gateway.auth.services import RSA_TOKEN_ALGORITHMS, TOKEN_RSA_KEY, ClientService
from gateway.keys import Keyring
from gateway.keystore import keyring_sealer
from gateway.policy.covenants import PolicyBundle
from gateway.settings import Settings

DEMO_CLIENTS_FILE = "demo-clients.json"
PARTNER_SCOPES = ("exchange:write", "inbox:read", "audit:own")
RIEC_EXTRA_SCOPES = ("audit:read", "statistics:read")
DEMO_RIEC = "riec-rotterdam-rijnmond"
INSTANCE_DIR_MODE = 0o700


@dataclass
class Instance:
    """What the CLI commands work with, opened from settings."""

    settings: Settings
    keyring: Keyring
    session_factory: sessionmaker[Session]
    known_partners: frozenset[str]


def initialise(settings: Settings) -> Instance:
    """Create what is missing, keep what exists: running it twice changes nothing."""
    settings.instance_path.mkdir(parents=True, exist_ok=True, mode=INSTANCE_DIR_MODE)
    # An instance folder made by an earlier release (or by hand) is narrowed as well.
    settings.instance_path.chmod(INSTANCE_DIR_MODE)
    sealer = keyring_sealer(settings)
    if not settings.keyring_path.exists():
        Keyring.generate().save(settings.keyring_path, sealer)
    keyring = Keyring.load(settings.keyring_path, sealer)
    added = keyring.add_missing_keys()  # a keyring from before a new key (webhook-signing)
    if settings.access_token_algorithm in RSA_TOKEN_ALGORITHMS:
        added += [TOKEN_RSA_KEY] if keyring.ensure_rsa(TOKEN_RSA_KEY) else []
    if added:
        keyring.save(settings.keyring_path, sealer)
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    engine.dispose()
    return Instance(
        settings=settings,
        keyring=Keyring.load(settings.keyring_path, sealer),
        session_factory=db.make_session_factory(
            db.make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)),
        known_partners=PolicyBundle.load(settings.policies_path).partner_ids(),
    )


def create_demo_clients(instance: Instance, clients: ClientService) -> Path:
    """One client per demo partner; credentials go to a file only the owner can read."""
    path = instance.settings.instance_path / DEMO_CLIENTS_FILE
    if path.exists():
        return path
    credentials = {}
    with db.transaction(instance.session_factory) as session:
        for partner in sorted(instance.known_partners):
            scopes = PARTNER_SCOPES + (RIEC_EXTRA_SCOPES if partner == DEMO_RIEC else ())
            client, secret = clients.create(
                session, partner, list(scopes), instance.known_partners
            )
            credentials[partner] = {"client_id": client.client_id, "client_secret": secret,
                                    "scopes": " ".join(scopes)}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(credentials, handle, indent=2)
    return path
