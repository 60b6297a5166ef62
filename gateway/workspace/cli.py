"""``ketenpoort user ...``: accounts of people for the workspace.

The main CLI passes the opened instance as ``ctx.obj`` (settings, keyring, session_factory,
known_partners).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gateway.clock import clock_starting_at
from gateway.workspace.accounts import AccountError, Accounts
from gateway.workspace.roles import CASEMANAGER, MEDEWERKER, REGIE, ROLES
from gateway.workspace.wiring import build_accounts

DEMO_USERS_FILE = "demo-users.json"
MUNICIPALITY_PREFIX = "gemeente-"


def accounts_of(instance: Any) -> Accounts:
    return build_accounts(instance.session_factory, instance.keyring,
                          clock_starting_at(instance.settings.clock_start))


@click.group("user")
def user_commands() -> None:
    """Manage the accounts people sign in to the workspace with."""


@user_commands.command("create")
@click.option("--partner", required=True, help="The partner organisation the person works for.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--email", required=True)
@click.pass_obj
def create(instance: Any, partner: str, role: str, email: str) -> None:
    """Create an account; its first password is printed this once.

    The person sets up the second factor (TOTP) at the first sign-in.
    """
    with _account_errors():
        account, password = accounts_of(instance).create(partner, role, email,
                                                         instance.known_partners)
    click.echo(f"user:     {account.email} ({account.partner}, {account.role})\n"
               f"password: {password}")
    click.echo("Hand the password over in person; it cannot be shown again.", err=True)


@user_commands.command("disable")
@click.option("--email", required=True)
@click.pass_obj
def disable(instance: Any, email: str) -> None:
    """Disable an account: no sign-in, and its open sessions end now."""
    with _account_errors():
        accounts_of(instance).disable(email)
    click.echo(f"disabled {email}; its sessions have ended")


@user_commands.command("reset-totp")
@click.option("--email", required=True)
@click.pass_obj
def reset_totp(instance: Any, email: str) -> None:
    """Forget a lost second factor: the next sign-in sets up a new one."""
    with _account_errors():
        accounts_of(instance).reset_totp(email)
    click.echo(f"the second factor of {email} is reset; it is set up again at the next sign-in")


def create_demo_users(instance: Any, riec: str) -> Path:
    """One person per demo partner, second factor enrolled; credentials to an owner-only file."""
    path: Path = instance.settings.instance_path / DEMO_USERS_FILE
    if path.exists():
        return path
    accounts = accounts_of(instance)
    users = {}
    for partner in sorted(instance.known_partners):
        role = REGIE if partner == riec else (
            CASEMANAGER if partner.startswith(MUNICIPALITY_PREFIX) else MEDEWERKER)
        email = f"demo@{partner}.example"
        account, password = accounts.create(partner, role, email, instance.known_partners)
        users[partner] = {"email": account.email, "password": password, "role": role,
                          "totp_secret": accounts.enrol_directly(email)}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(users, handle, indent=2)
    return path


@contextmanager
def _account_errors() -> Iterator[None]:
    try:
        yield
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
