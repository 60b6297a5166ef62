"""``ketenpoort client ...``: create partner clients, register their public keys, revoke them.

The main CLI passes the container (:class:`gateway.container.Container`) as ``ctx.obj``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from gateway.auth.interfaces import ClientError
from gateway.container import Container
from gateway.db import transaction


@click.group("client")
def client_commands() -> None:
    """Manage the OAuth clients partner systems authenticate with."""


@client_commands.command("create")
@click.option("--partner", "partner_id", required=True, help="Partner id the client acts for.")
@click.option("--scopes", required=True, help='Space-separated, e.g. "exchange:write inbox:read".')
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as JSON.")
@click.pass_obj
def create(context: Container, partner_id: str, scopes: str, as_json: bool) -> None:
    """Create a client; its secret is printed this once and never stored in the clear."""
    with _client_errors(), transaction(context.session_factory) as session:
        client, secret = context.clients.create(
            session, partner_id, scopes.split(), context.known_partners
        )
        client_id = client.client_id
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        click.echo(f"client_id:     {client_id}\nclient_secret: {secret}")
        click.echo("Store the secret now; it cannot be shown again.", err=True)


@client_commands.command("add-jwk")
@click.option("--client-id", required=True)
@click.option("--jwk", "jwk_file", required=True, type=click.File("r"), help="Public JWK (JSON).")
@click.pass_obj
def add_jwk(context: Container, client_id: str, jwk_file: Any) -> None:
    """Register a public key; the client then authenticates with private_key_jwt only."""
    try:
        jwk = json.load(jwk_file)
    except ValueError as exc:
        raise click.ClickException(f"{jwk_file.name} is not JSON: {exc}") from None
    with _client_errors(), transaction(context.session_factory) as session:
        stored = context.clients.register_jwk(session, client_id, jwk)
    click.echo(f"registered key {stored['kid']} for client {client_id}; its secret no longer works")


@client_commands.command("revoke")
@click.option("--client-id", required=True)
@click.pass_obj
def revoke(context: Container, client_id: str) -> None:
    """Revoke a client: no new tokens, and its unexpired tokens are refused."""
    with _client_errors(), transaction(context.session_factory) as session:
        context.clients.revoke(session, client_id)
    click.echo(f"revoked client {client_id}")


@contextmanager
def _client_errors() -> Iterator[None]:
    """Turn domain errors into click's clean one-line failure (exit status 1)."""
    try:
        yield
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
