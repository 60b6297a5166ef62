"""Settings from the environment: misspelt names stop the start, secrets may come from files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.settings import Settings, SettingsError


def test_a_misspelt_setting_stops_the_start_and_names_the_closest_one() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"KETENPOORT_DATABASE_URI": "postgresql+psycopg://db/ketenpoort"})

    assert str(raised.value) == ("unknown setting KETENPOORT_DATABASE_URI; "
                                 "did you mean KETENPOORT_DATABASE_URL?")


def test_an_unknown_setting_with_no_near_name_points_to_the_readme() -> None:
    with pytest.raises(SettingsError, match=r"unknown setting KETENPOORT_FROBNICATE; see README"):
        Settings.from_env({"KETENPOORT_FROBNICATE": "1"})


def test_the_command_line_refuses_to_start_on_an_unknown_setting(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["covenant", "check"], env={
        "KETENPOORT_INSTANCE": str(tmp_path), "KETENPOORT_POLICY_ENGIN": "opa"})

    assert result.exit_code == 1
    assert "KETENPOORT_POLICY_ENGIN; did you mean KETENPOORT_POLICY_ENGINE?" in result.output


def test_other_programs_variables_and_other_prefixes_are_left_alone() -> None:
    settings = Settings.from_env({"KETENPOORT_WITNESS_TOKEN": "t", "KETENPOORT_TEST_TODAY": "x",
                                  "KETENPOORTAL": "y", "PATH": "/bin"})

    assert settings.database_url.startswith("sqlite:///")


def test_a_secret_setting_is_read_from_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "database-url"
    secret.write_text("postgresql+psycopg://ketenpoort:s3cret@db/ketenpoort\n")
    token = tmp_path / "metrics-token"
    token.write_text("scrape-token")

    settings = Settings.from_env({"KETENPOORT_DATABASE_URL_FILE": str(secret),
                                  "KETENPOORT_METRICS_TOKEN_FILE": str(token),
                                  "KETENPOORT_BROKER_URL_FILE": str(secret)})

    assert settings.database_url == "postgresql+psycopg://ketenpoort:s3cret@db/ketenpoort"
    assert settings.broker_url == settings.database_url
    assert settings.metrics_token == "scrape-token"


def test_a_secret_set_twice_or_unreadable_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="set KETENPOORT_METRICS_TOKEN or "
                                            "KETENPOORT_METRICS_TOKEN_FILE, not both"):
        Settings.from_env({"KETENPOORT_METRICS_TOKEN": "a",
                           "KETENPOORT_METRICS_TOKEN_FILE": str(tmp_path)})
    with pytest.raises(SettingsError, match="KETENPOORT_METRICS_TOKEN_FILE: cannot read"):
        Settings.from_env({"KETENPOORT_METRICS_TOKEN_FILE": str(tmp_path / "absent")})


def test_only_secrets_are_read_from_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"KETENPOORT_ISSUER_FILE; did you mean "
                                            r"KETENPOORT_ISSUER\?"):
        Settings.from_env({"KETENPOORT_ISSUER_FILE": str(tmp_path)})


def test_the_log_level_is_checked() -> None:
    assert Settings.from_env({"KETENPOORT_LOG_LEVEL": "debug"}).log_level == "DEBUG"
    with pytest.raises(SettingsError, match="log_level must be one of"):
        Settings.from_env({"KETENPOORT_LOG_LEVEL": "chatty"})
