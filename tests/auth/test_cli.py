"""``ketenpoort client``: create, add-jwk and revoke through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.cli import client_commands
from gateway.auth.models import OAuthClient
from gateway.auth.services import ClientService
from gateway.container import Container
from tests.factories import POLITIE

from .factories import secret_client

Invoke = Callable[..., Result]


@pytest.fixture
def run(container: Container) -> Invoke:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(client_commands, list(args), obj=container)

    return invoke


def test_create_prints_json_credentials_and_stores_only_a_hash(
    run: Invoke, session: Session
) -> None:
    scopes = "exchange:write inbox:read"

    result = run("create", "--partner", POLITIE, "--scopes", scopes, "--json")

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"client_id", "client_secret"}
    row = session.execute(
        select(OAuthClient.__table__).where(OAuthClient.client_id == printed["client_id"])
    ).one()
    assert (row.partner_id, row.scopes) == (POLITIE, "exchange:write inbox:read")
    assert row.secret_hash.startswith("scrypt$")
    assert all(printed["client_secret"] not in str(value) for value in row)
    authenticated = ClientService().authenticate_secret(
        session, printed["client_id"], printed["client_secret"]
    )
    assert authenticated is not None


def test_create_without_json_prints_readable_credentials(run: Invoke) -> None:
    result = run("create", "--partner", POLITIE, "--scopes", "inbox:read")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("client_id:")
    assert "client_secret:" in result.stdout
    assert "cannot be shown again" in result.stderr


@pytest.mark.parametrize(
    ("partner", "scopes", "message"),
    [
        ("kmar", "inbox:read", "unknown partner 'kmar'"),
        (POLITIE, "inbox:read superuser", "unknown scope(s): superuser"),
    ],
)
def test_create_refuses_unknown_partner_or_scope_and_stores_nothing(
    run: Invoke, session: Session, partner: str, scopes: str, message: str
) -> None:
    result = run("create", "--partner", partner, "--scopes", scopes)

    assert result.exit_code == 1
    assert message in result.stderr
    assert session.scalars(select(OAuthClient)).all() == []


def test_add_jwk_switches_the_client_to_private_key_jwt(
    run: Invoke, session: Session, tmp_path: Path
) -> None:
    client, _secret = secret_client(session)
    jwk_file = tmp_path / "partner.jwk.json"
    jwk_file.write_text(json.dumps(ECKey.generate_key("P-256").as_dict(private=False)))

    result = run("add-jwk", "--client-id", client.client_id, "--jwk", str(jwk_file))

    assert result.exit_code == 0, result.output
    session.refresh(client)
    assert client.token_endpoint_auth_method == "private_key_jwt"
    assert client.jwks is not None
    assert client.jwks["keys"][0]["kid"] in result.stdout


def test_add_jwk_refuses_a_private_key(run: Invoke, session: Session, tmp_path: Path) -> None:
    client, _secret = secret_client(session)
    jwk_file = tmp_path / "oops.jwk.json"
    jwk_file.write_text(json.dumps(ECKey.generate_key("P-256").as_dict(private=True)))

    result = run("add-jwk", "--client-id", client.client_id, "--jwk", str(jwk_file))

    assert result.exit_code == 1
    assert "private key material" in result.stderr
    session.refresh(client)
    assert client.jwks is None


def test_add_jwk_refuses_a_file_that_is_not_json(
    run: Invoke, session: Session, tmp_path: Path
) -> None:
    client, _secret = secret_client(session)
    jwk_file = tmp_path / "broken.json"
    jwk_file.write_text("{not json")

    result = run("add-jwk", "--client-id", client.client_id, "--jwk", str(jwk_file))

    assert result.exit_code == 1
    assert "is not JSON" in result.stderr


def test_revoke_stops_the_client(run: Invoke, session: Session) -> None:
    client, secret = secret_client(session)

    result = run("revoke", "--client-id", client.client_id)

    assert result.exit_code == 0, result.output
    session.expire_all()  # the CLI changed the row through its own session
    assert ClientService().authenticate_secret(session, client.client_id, secret) is None


def test_revoke_of_an_unknown_client_fails_cleanly(run: Invoke) -> None:
    result = run("revoke", "--client-id", "no-such-client")

    assert result.exit_code == 1
    assert "no active client 'no-such-client'" in result.stderr
