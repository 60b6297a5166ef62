"""``ketenpoort covenant ...`` and ``ketenpoort policy ...``: check, explain and ship the policies.

Every command reads the policies tree named by the settings (``KETENPOORT_POLICIES_PATH``),
so what is checked or explained here is exactly what the gateway evaluates.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from gateway.clock import clock_starting_at
from gateway.container import Container, explaining_policy
from gateway.policy.covenants import (
    CovenantError,
    PolicyBundle,
    check_covenant_file,
    load_partner_ids,
)
from gateway.policy.interfaces import Decision, DecisionRequest
from gateway.policy.opa_engine import write_opa_bundle
from gateway.policy.signals import EXPLOITATION_FORMS, load_signals
from gateway.settings import Settings, SettingsError


@click.group("covenant")
def covenant_commands() -> None:
    """Check covenant files and explain the decisions they lead to."""


@covenant_commands.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Check FILE against the covenant schema and the partner registry, and the signal
    vocabulary and content schemas of the policies tree."""
    policies = _settings().policies_path
    try:
        problems = check_covenant_file(file, load_partner_ids(policies))
    except CovenantError as error:
        problems = error.messages
    problems = problems + load_signals(policies)[1]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{file}: ok")


@covenant_commands.command("explain")
@click.option("--covenant", "covenant_id", required=True, help="Covenant id.")
@click.option("--from", "provider", required=True, help="Providing partner id.")
@click.option("--to", "recipient", required=True, help="Receiving partner id.")
@click.option("--category", "categories", required=True, multiple=True, help="Repeatable.")
@click.option("--step", "process_step", required=True, help="Process step.")
@click.option("--purpose", help="Purpose id; defaults to the covenant's first (main) purpose.")
@click.option("--assigned", is_flag=True, help="The recipient is the case's assigned partner.")
@click.option("--exploitation-form", "exploitation_form", default="onbekend", show_default=True,
              type=click.Choice(EXPLOITATION_FORMS), help="What the signal is about.")
@click.option("--case-manager", "case_manager", is_flag=True,
              help="The recipient is the case's case manager.")
@click.option("--today", help="Evaluate as of this date (YYYY-MM-DD); default: the clock's day.")
def explain(
    *, covenant_id: str, provider: str, recipient: str, categories: tuple[str, ...],
    process_step: str, purpose: str | None, assigned: bool, exploitation_form: str,
    case_manager: bool,
    today: str | None,
) -> None:
    """Show what the policy decides for one disclosure, and why."""
    bundle = _bundle()
    request = DecisionRequest(
        covenant=covenant_id,
        purpose=purpose or _main_purpose(bundle, covenant_id),
        process_step=process_step,
        provider=provider,
        recipient=recipient,
        categories=categories,
        today=today or clock_starting_at(_settings().clock_start).today().isoformat(),
        recipient_assigned=assigned,
        exploitation_form=exploitation_form,
        recipient_case_manager=case_manager,
    )
    click.echo(_describe(explaining_policy(_settings(), bundle).decide(request)))


@covenant_commands.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def publish(context: Container, file: Path) -> None:
    """Check FILE and make it the covenant version in force; running gateways follow."""
    try:
        publication = context.covenant_publisher.publish(file, getpass.getuser())
    except CovenantError as error:
        for problem in error.messages:
            click.echo(problem, err=True)
        click.echo(f"{file}: not published", err=True)
        raise SystemExit(1) from error
    click.echo(
        f"published {publication.covenant} version {publication.version} "
        f"(was {publication.previous_version or 'not in force'}) to {publication.path}\n"
        f"bundle:      {publication.old_bundle_hash} -> {publication.new_bundle_hash}\n"
        f"audit event: {publication.audit_event_id}\n"
        f"running gateways switch within {context.settings.policy_reload_seconds:g} s; "
        "an OPA server needs a new bundle (ketenpoort policy bundle)"
    )


@click.group("policy")
def policy_commands() -> None:
    """Package the policies for an OPA server."""


@policy_commands.command("bundle")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def bundle_command(out: Path) -> None:
    """Write the policies as an OPA bundle tarball to OUT."""
    bundle = _bundle()
    write_opa_bundle(bundle, out)
    click.echo(f"{out}: revision {bundle.hash}")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from error


def _bundle() -> PolicyBundle:
    try:
        return PolicyBundle.load(_settings().policies_path)
    except CovenantError as error:
        raise click.ClickException(f"the policies do not load:\n{error}") from error


def _main_purpose(bundle: PolicyBundle, covenant_id: str) -> str:
    """The purpose the covenant lists first: its main one (the RIEC covenant's chain approach,
    before the RIEC's own analysis function)."""
    document = bundle.data["ketenpoort"]["covenants"].get(covenant_id)
    if document is None:
        raise click.BadParameter(f"unknown covenant {covenant_id!r}", param_hint="--covenant")
    purpose: str = document["purposes"][0]["id"]
    return purpose


def _describe(decision: Decision) -> str:
    lines = [
        f"decision:  {'ALLOWED' if decision.allowed else 'DENIED'}",
        f"covenant:  {decision.covenant} version {decision.covenant_version or '-'}",
        f"delivered: {', '.join(decision.categories_delivered) or '-'}",
        f"withheld:  {', '.join(decision.categories_withheld) or '-'}",
        f"identity:  {decision.identity}",
    ]
    lines += [f"grant:     {c} <- {', '.join(ids)}" for c, ids in decision.grants.items()]
    lines += [
        f"reason:    [{r.code}]{f' {r.category}:' if r.category else ''} {r.message}"
        for r in decision.reasons
    ]
    lines.append(f"bundle:    {decision.bundle_hash}")
    return "\n".join(lines)
