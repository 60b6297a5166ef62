"""Loading and checking the policies tree: the demo loads, and each kind of mistake is named
with its file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gateway.policy.cli import covenant_commands
from gateway.policy.covenants import (
    CovenantError,
    PolicyBundle,
    check_covenant_file,
    load_partner_ids,
)
from gateway.ports import PartnerProfile, is_oin

from .conftest import OUTSIDER, POLICIES_PATH, RIEC

RIEC_FILE = Path("covenants") / "riec-rr-mensenhandel.yaml"


def _lines_of(path: Path, needle: str) -> list[int]:
    return [n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text]


def _line_of(path: Path, needle: str) -> int:
    [line] = _lines_of(path, needle)
    return line


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def _problems(policies: Path) -> list[str]:
    return check_covenant_file(policies / RIEC_FILE, load_partner_ids(policies))


# --- the demo tree ---


def test_demo_policies_load(bundle: PolicyBundle) -> None:
    assert set(bundle.data["ketenpoort"]["covenants"]) == {
        "riec-rr-mensenhandel", "zvh-rijnmond-zorg",
    }
    assert {"ketenpoort/exchange/decision.rego", "ketenpoort/meeting/agenda.rego"} <= set(
        bundle.modules)
    assert not [name for name in bundle.modules if name.endswith("_test.rego")]
    assert OUTSIDER in bundle.partner_ids()
    assert len(bundle.partner_ids()) == 11


def test_demo_covenant_files_pass_the_check() -> None:
    partners = load_partner_ids(POLICIES_PATH)
    for path in sorted((POLICIES_PATH / "covenants").glob("*.yaml")):
        assert check_covenant_file(path, partners) == [], path


def test_typed_covenant_view(bundle: PolicyBundle) -> None:
    covenant = bundle.covenant("riec-rr-mensenhandel")
    assert covenant is not None
    assert covenant.version == "2026.1"
    assert covenant.purposes == frozenset({"ketenaanpak-mensenhandel", "riec-analyse"})
    assert {"gezondheid", "strafrechtelijk", "interventie"} <= covenant.categories
    assert RIEC in covenant.parties
    assert OUTSIDER not in covenant.parties
    assert covenant.retention["signal"].months == 12
    assert covenant.retention["case"].counted_from == "closed"
    assert bundle.covenant("geen-convenant") is None


def test_catalogue_lookups(bundle: PolicyBundle) -> None:
    assert bundle.covenant_purposes("zvh-rijnmond-zorg") == frozenset({"zorg-en-veiligheid"})
    assert "gezondheid" in (bundle.covenant_categories("zvh-rijnmond-zorg") or ())
    assert bundle.covenant_purposes("geen-convenant") is None
    assert bundle.process_steps[0] == "detectie"
    assert bundle.process_steps[-1] == "evaluatie"


def test_dates_stay_iso_strings(shipped_bundle: PolicyBundle) -> None:
    covenant = shipped_bundle.data["ketenpoort"]["covenants"]["riec-rr-mensenhandel"]
    assert covenant["valid_from"] == "2025-03-01"
    assert covenant["registration"]["date"] == "2025-02-14"


def test_unquoted_yaml_dates_stay_strings(policies_copy: Path) -> None:
    _replace(policies_copy / RIEC_FILE, 'valid_from: "2025-03-01"', "valid_from: 2025-03-01")
    reloaded = PolicyBundle.load(policies_copy)
    assert reloaded.data["ketenpoort"]["covenants"]["riec-rr-mensenhandel"]["valid_from"] == (
        "2025-03-01"
    )


def test_test_modules_stay_out_of_the_bundle(bundle: PolicyBundle) -> None:
    assert not [name for name in bundle.modules if name.endswith("_test.rego")]


# --- the bundle hash ---


def test_hash_is_stable_across_loads(shipped_bundle: PolicyBundle) -> None:
    again = PolicyBundle.load(POLICIES_PATH)
    assert again.hash == shipped_bundle.hash
    assert re.fullmatch(r"[0-9a-f]{64}", shipped_bundle.hash)


def test_hash_ignores_formatting_but_not_content(
    policies_copy: Path, shipped_bundle: PolicyBundle
) -> None:
    path = policies_copy / RIEC_FILE
    path.write_text("# a new comment\n" + path.read_text())
    assert PolicyBundle.load(policies_copy).hash == shipped_bundle.hash
    _replace(path, "months: 60", "months: 72")
    assert PolicyBundle.load(policies_copy).hash != shipped_bundle.hash


def test_hash_covers_the_rego(policies_copy: Path, shipped_bundle: PolicyBundle) -> None:
    module = policies_copy / "ketenpoort" / "exchange" / "decision.rego"
    module.write_text(module.read_text() + "\n# changed\n")
    assert PolicyBundle.load(policies_copy).hash != shipped_bundle.hash


# --- mistakes, each with its line ---


def test_unknown_partner_in_a_grant_names_its_line(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "    providers: [politie-rotterdam]", "    providers: [politie-amsterdam]")
    line = _line_of(path, "politie-amsterdam")
    assert _problems(policies_copy) == [
        f"{path}:{line}: grant 'politie-bronnen-detectie': 'politie-amsterdam' is not a party, "
        "so the grant can never apply"
    ]


def test_schema_violation_names_its_line(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "    identity: pseudonym", "    identity: volledig")
    line = _line_of(path, "identity: volledig")
    [problem] = _problems(policies_copy)
    assert problem.startswith(f"{path}:{line}: /grants/0/identity: 'volledig' is not one of")


def test_missing_field_names_the_enclosing_line(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "  reference: AP-WGS-2025-0417\n", "")
    [problem] = _problems(policies_copy)
    line = _line_of(path, "registration:")
    assert problem == f"{path}:{line}: /registration: 'reference' is a required property"


def test_yaml_syntax_error_names_its_line(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "title: Convenant Regionale", "title: [Convenant Regionale")
    [problem] = _problems(policies_copy)
    assert re.match(rf"{re.escape(str(path))}:\d+: invalid YAML", problem)
    assert int(problem.split(":")[1]) >= _line_of(path, "title: [Convenant")


def test_duplicate_yaml_key_names_its_line(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, 'version: "2026.1"\n', 'version: "2026.1"\nversion: "2026.2"\n')
    line = _lines_of(path, "version: ")[1]
    assert _problems(policies_copy) == [f"{path}:{line}: duplicate key 'version'"]


def test_special_category_without_legal_basis(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    basis = "    legal_basis: AVG art. 9 lid 2 sub g jo. UAVG art. 30; WGS"
    _replace(path, basis, '    legal_basis: ""')
    assert _problems(policies_copy) == [
        f"{path}:{_line_of(path, '- id: gezondheid')}: special category 'gezondheid' (art9) "
        "has no legal basis"
    ]


def test_identified_at_evaluatie_is_refused(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "    process_steps: [evaluatie]\n    purpose: ketenaanpak-mensenhandel\n"
             "    identity: pseudonym",
             "    process_steps: [evaluatie]\n    purpose: ketenaanpak-mensenhandel\n"
             "    identity: identified")
    line = _lines_of(path, "identity: identified")[-1]
    assert _problems(policies_copy) == [
        f"{path}:{line}: grant 'evaluatie-aanlevering': nothing identified may flow at evaluatie"
    ]


def test_assignment_before_toewijzing_can_never_apply(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "&toewijzing-en-uitvoering [toewijzing_interventie, uitvoering]",
             "&toewijzing-en-uitvoering [detectie, uitvoering]")
    line = _line_of(path, "[detectie, uitvoering]")
    assert _problems(policies_copy) == [
        f"{path}:{line}: grant 'riec-interventie-toegewezen': "
        "no partner is assigned yet at detectie, so the grant can never apply"
    ]


def test_duplicate_grant_id(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "  - id: ind-bronnen-dossier", "  - id: fiscus-bronnen-dossier")
    line = _lines_of(path, "- id: fiscus-bronnen-dossier")[1]
    assert _problems(policies_copy) == [f"{path}:{line}: duplicate grant 'fiscus-bronnen-dossier'"]


def test_unknown_category_in_a_grant(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "    categories: [arbeid]", "    categories: [arbeidsverleden]")
    line = _line_of(path, "[arbeidsverleden]")
    assert _problems(policies_copy) == [
        f"{path}:{line}: grant 'inspectie-bronnen-detectie': 'arbeidsverleden' is not a category "
        "of this covenant"
    ]


def test_unregistered_party_names_its_line(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, "  - partner: ind\n", "  - partner: kmar\n")
    problems = _problems(policies_copy)
    assert f"{path}:{_line_of(path, '- partner: kmar')}: party 'kmar' is no registered partner" in (
        problems
    )


def test_contact_point_must_be_a_party(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    contact = "  partner: riec-rotterdam-rijnmond\n  email"
    _replace(path, contact, contact.replace("riec-rotterdam-rijnmond", "gemeente-maassluis"))
    assert _problems(policies_copy) == [
        f"{path}:{_line_of(path, 'partner: gemeente-maassluis')}: the contact point is not a party"
    ]


def test_period_and_file_name_are_checked(policies_copy: Path) -> None:
    path = policies_copy / RIEC_FILE
    _replace(path, 'valid_until: "2029-12-31"', 'valid_until: "2024-12-31"')
    _replace(path, "id: riec-rr-mensenhandel", "id: riec-rr")
    assert _problems(policies_copy) == [
        f"{path}:{_line_of(path, 'id: riec-rr')}: covenant id 'riec-rr' differs from its file "
        "name",
        f"{path}:{_line_of(path, 'valid_until')}: valid_until lies before valid_from",
    ]


def test_load_refuses_a_broken_tree_with_every_message(policies_copy: Path) -> None:
    _replace(policies_copy / RIEC_FILE, "    categories: [arbeid]", "    categories: [onbekend]")
    zvh = policies_copy / "covenants" / "zvh-rijnmond-zorg.yaml"
    _replace(zvh, "    role: gezondheidszorg", "    role: 7")
    with pytest.raises(CovenantError) as caught:
        PolicyBundle.load(policies_copy)
    assert len(caught.value.messages) == 2
    assert "'onbekend' is not a category" in caught.value.messages[0]
    assert "/parties/0/role: 7 is not of type 'string'" in caught.value.messages[1]


def test_broken_partner_registry_is_refused(policies_copy: Path) -> None:
    registry = policies_copy / "partners.yaml"
    partners = yaml.safe_load(registry.read_text())["partners"]
    partners.append(dict(partners[0]))
    registry.write_text(yaml.safe_dump({"partners": partners}))
    with pytest.raises(CovenantError, match="duplicate partner 'gemeente-vlaardingen'"):
        PolicyBundle.load(policies_copy)


# --- the check command ---


def test_check_command_passes_a_sound_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETENPOORT_POLICIES_PATH", str(POLICIES_PATH))
    result = CliRunner().invoke(covenant_commands, ["check", str(POLICIES_PATH / RIEC_FILE)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(": ok\n")


def test_check_command_fails_with_line_precise_messages(
    policies_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETENPOORT_POLICIES_PATH", str(policies_copy))
    path = policies_copy / RIEC_FILE
    _replace(path, "    categories: [arbeid]", "    categories: [arbeidsverleden]")
    result = CliRunner().invoke(covenant_commands, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{_line_of(path, '[arbeidsverleden]')}: grant" in result.output


# --- partners by OIN ---


def test_every_demo_partner_has_an_oin_and_its_profile_says_so() -> None:
    bundle = PolicyBundle.load(POLICIES_PATH)
    profiles = [bundle.partner(partner) for partner in sorted(bundle.partner_ids())]
    assert all(profile is not None and is_oin(profile.oin) for profile in profiles)
    assert bundle.partner("gemeente-vlaardingen") == PartnerProfile(
        "gemeente-vlaardingen", "99999999000000001000", mutual_tls=False)
    assert bundle.partner("kmar") is None


@pytest.mark.parametrize(("oin", "message"), [
    ("1234567890123456789", "does not match"),  # 19 digits
    ("0000000100123456700a", "does not match"),
    ("٠٠٠٠٠٠٠١٠٠١٢٣٤٥٦٧٠٠٠", "does not match"),  # Arabic-Indic digits are no OIN
    ("00000000000000000000", "is not an OIN"),
    ("99999999000000002000", "duplicate OIN"),  # gemeente-rotterdam's
])
def test_a_registry_with_a_bad_or_shared_oin_is_refused(
    policies_copy: Path, oin: str, message: str
) -> None:
    registry = policies_copy / "partners.yaml"
    document = yaml.safe_load(registry.read_text())
    document["partners"][0]["oin"] = oin
    registry.write_text(yaml.safe_dump(document))
    with pytest.raises(CovenantError, match=message):
        PolicyBundle.load(policies_copy)


def test_the_oin_check_is_about_form_only() -> None:
    assert is_oin("00000001001234567000")
    assert not is_oin(12345678901234567890)
    assert not is_oin("00000001001234567000\n")
