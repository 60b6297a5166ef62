"""``ketenpoort user`` and the demo people of ``ketenpoort init --demo``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.db import make_session_factory
from gateway.keys import Keyring
from gateway.settings import Settings
from gateway.workspace.accounts import current_code
from gateway.workspace.cli import DEMO_USERS_FILE, accounts_of, create_demo_users, user_commands
from gateway.workspace.models import WorkspaceSession, WorkspaceUser
from gateway.workspace.sessions import SIGNED_IN
from tests.factories import RIEC, VLAARDINGEN

PARTNERS = frozenset({RIEC, VLAARDINGEN, "politie-rotterdam"})


@pytest.fixture
def instance(connection: Connection, keyring: Keyring, settings: Settings) -> Any:
    settings.instance_path.mkdir(parents=True)
    return SimpleNamespace(settings=settings, keyring=keyring, known_partners=PARTNERS,
                           session_factory=make_session_factory(connection))


def run(instance: Any, *args: str) -> Result:
    return CliRunner().invoke(user_commands, list(args), obj=instance)


def test_create_prints_a_password_once_and_stores_only_an_argon2id_hash(
        instance: Any, session: Session) -> None:
    result = run(instance, "create", "--partner", VLAARDINGEN, "--role", "medewerker",
                 "--email", "Anna@Vlaardingen.example")

    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].split()[0]
    user = session.scalars(select(WorkspaceUser)).one()
    assert user.email == "anna@vlaardingen.example"
    assert user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash
    assert not user.totp_enrolled


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--partner", "nobody", "unknown partner"),
    ("--email", "not-an-address", "not an e-mail address"),
])
def test_create_refuses_unknown_partners_and_bad_addresses(
        instance: Any, option: str, value: str, message: str) -> None:
    arguments = {"--partner": VLAARDINGEN, "--role": "medewerker", "--email": "a@b.example",
                 option: value}
    result = run(instance, "create", *[x for pair in arguments.items() for x in pair])

    assert result.exit_code == 1
    assert message in result.output


def test_an_email_address_has_one_account(instance: Any) -> None:
    arguments = ("create", "--partner", VLAARDINGEN, "--role", "medewerker",
                 "--email", "a@b.example")
    assert run(instance, *arguments).exit_code == 0

    again = run(instance, *arguments)

    assert again.exit_code == 1
    assert "exists already" in again.output


def test_disable_and_reset_totp_end_the_open_sessions(instance: Any, session: Session) -> None:
    accounts = accounts_of(instance)
    account, _ = accounts.create(VLAARDINGEN, "medewerker", "a@b.example", PARTNERS)
    accounts.enrol_directly("a@b.example")
    moment = accounts.now()
    session.add(WorkspaceSession(token_digest="0" * 64, user_id=account.id, stage=SIGNED_IN,
                                  created_at=moment, last_seen=moment))
    session.commit()

    assert run(instance, "reset-totp", "--email", "a@b.example").exit_code == 0
    assert session.scalars(select(WorkspaceSession)).all() == []
    session.expire_all()
    assert not session.get(WorkspaceUser, account.id).totp_enrolled  # type: ignore[union-attr]

    assert run(instance, "disable", "--email", "a@b.example").exit_code == 0
    session.expire_all()
    assert session.get(WorkspaceUser, account.id).disabled  # type: ignore[union-attr]
    assert accounts.account(account.id) is None


def test_unknown_accounts_are_a_clean_failure(instance: Any) -> None:
    result = run(instance, "disable", "--email", "nobody@b.example")

    assert result.exit_code == 1
    assert "no account" in result.output


def test_demo_people_are_written_owner_readable_only_and_can_sign_in(instance: Any) -> None:
    path = create_demo_users(instance, RIEC)

    assert path == Path(instance.settings.instance_path) / DEMO_USERS_FILE
    assert path.stat().st_mode & 0o077 == 0
    users = json.loads(path.read_text())
    assert set(users) == PARTNERS
    assert users[RIEC]["role"] == "regie"
    assert users[VLAARDINGEN]["role"] == "casemanager"
    assert users["politie-rotterdam"]["role"] == "medewerker"
    accounts = accounts_of(instance)
    riec = users[RIEC]
    checked = accounts.check_password(riec["email"], riec["password"])
    assert checked.account is not None
    code = current_code(riec["totp_secret"], accounts.now())
    assert accounts.check_code(checked.account.id, code).account is not None
    assert create_demo_users(instance, RIEC) == path  # a second init keeps the file
