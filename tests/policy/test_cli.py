"""The ``covenant explain`` and ``policy bundle`` commands, on the demo policies."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.policy.cli import covenant_commands, policy_commands
from gateway.policy.covenants import PolicyBundle

from .conftest import RIEC, TODAY

EXPLAIN = [
    "explain", "--covenant", "riec-rr-mensenhandel", "--from", "ggd-rotterdam-rijnmond",
    "--category", "gezondheid", "--category", "uitbuitingssignalen", "--today", TODAY,
]


@pytest.fixture(autouse=True)
def demo_policies(monkeypatch: pytest.MonkeyPatch, test_policies_path: Path) -> None:
    monkeypatch.setenv("KETENPOORT_POLICIES_PATH", str(test_policies_path))
    monkeypatch.setenv("KETENPOORT_POLICY_ENGINE", "regopy")


def test_explain_shows_an_allowed_decision(bundle: PolicyBundle) -> None:
    result = CliRunner().invoke(covenant_commands, [*EXPLAIN, "--to", RIEC, "--step", "detectie"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "decision:  ALLOWED",
        "covenant:  riec-rr-mensenhandel version 2026.1",
        "delivered: gezondheid, uitbuitingssignalen",
        "withheld:  -",
        "identity:  pseudonym",
        "grant:     gezondheid <- ggd-gezondheid-naar-riec",
        "grant:     uitbuitingssignalen <- signalen-detectie",
        f"bundle:    {bundle.hash}",
    ]


def test_explain_gives_the_reasons_for_a_denial() -> None:
    result = CliRunner().invoke(
        covenant_commands, [*EXPLAIN, "--to", "gemeente-rotterdam", "--step", "uitvoering",
                            "--assigned"]
    )
    assert result.exit_code == 0, result.output
    assert "decision:  DENIED" in result.output
    assert "reason:    [special-category-without-basis] gezondheid: special category " in (
        result.output
    )
    assert "reason:    [no-grant] uitbuitingssignalen: no grant in covenant" in result.output


@pytest.mark.parametrize(("form", "decision"), [
    ("arbeidsuitbuiting", "decision:  ALLOWED"), ("seksuele_uitbuiting", "decision:  DENIED")])
def test_explain_takes_the_form_of_exploitation(form: str, decision: str) -> None:
    result = CliRunner().invoke(covenant_commands, [
        "explain", "--covenant", "riec-rr-mensenhandel", "--from", "gemeente-vlaardingen",
        "--to", "arbeidsinspectie", "--category", "uitbuitingssignalen", "--step", "detectie",
        "--exploitation-form", form, "--today", TODAY])

    assert result.exit_code == 0, result.output
    assert decision in result.output.splitlines()


def test_check_also_checks_the_signal_vocabulary(
    monkeypatch: pytest.MonkeyPatch, policies_copy: Path
) -> None:
    vocabulary = policies_copy / "signals" / "signalenlijst.yaml"
    vocabulary.write_text(vocabulary.read_text() + vocabulary.read_text().split(
        "indicators:\n", 1)[1].split("  # Vrijheid", 1)[0])
    monkeypatch.setenv("KETENPOORT_POLICIES_PATH", str(policies_copy))

    result = CliRunner().invoke(covenant_commands, [
        "check", str(policies_copy / "covenants" / "riec-rr-mensenhandel.yaml")])

    assert result.exit_code == 1
    assert "duplicate indicator 'geen-id-papieren'" in result.output


def test_explain_refuses_an_unknown_covenant() -> None:
    arguments = [*EXPLAIN, "--to", RIEC, "--step", "detectie"]
    arguments[2] = "geen-convenant"
    result = CliRunner().invoke(covenant_commands, arguments)
    assert result.exit_code == 2
    assert "unknown covenant 'geen-convenant'" in result.output


def test_bundle_command_writes_the_tarball(tmp_path: Path, bundle: PolicyBundle) -> None:
    out = tmp_path / "out" / "bundle.tar.gz"
    result = CliRunner().invoke(policy_commands, ["bundle", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{out}: revision {bundle.hash}\n"
    with tarfile.open(out) as archive:
        manifest = archive.extractfile("/.manifest")
        assert manifest is not None
        assert json.loads(manifest.read())["revision"] == bundle.hash


def test_commands_report_a_broken_tree(
    policies_copy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (policies_copy / "partners.yaml").write_text("partners: []\n")
    monkeypatch.setenv("KETENPOORT_POLICIES_PATH", str(policies_copy))
    result = CliRunner().invoke(policy_commands, ["bundle", "--out", str(tmp_path / "b.tgz")])
    assert result.exit_code == 1
    assert "the policies do not load" in result.output
    assert "partners.yaml:1: /partners: [] should be non-empty" in result.output
