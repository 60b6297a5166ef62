"""Durable by default: on SQLite a commit the gateway answered is on disk (synchronous=FULL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from gateway import db
from gateway.container import build_container
from gateway.instance import initialise
from gateway.settings import Settings, SettingsError

# SQLite's numbers for PRAGMA synchronous.
FULL, NORMAL = 2, 1


def _synchronous(engine_url: str, **kwargs: str) -> int:
    engine = db.make_engine(engine_url, **kwargs)
    with engine.connect() as connection:
        level = connection.execute(text("PRAGMA synchronous")).scalar_one()
    engine.dispose()
    return int(level)


def test_an_engine_commits_durably_unless_told_otherwise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    assert _synchronous(url) == FULL
    assert _synchronous(url, sqlite_synchronous="NORMAL") == NORMAL
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        db.make_engine(url, sqlite_synchronous="OFF")


def test_the_gateway_follows_the_setting(tmp_path: Path) -> None:
    for setting, expected in (("FULL", FULL), ("NORMAL", NORMAL)):
        settings = Settings(instance_path=tmp_path / setting, sqlite_synchronous=setting)
        initialise(settings)
        with build_container(settings).session_factory() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar_one() == expected


def test_a_setting_that_would_drop_durability_altogether_is_refused() -> None:
    with pytest.raises(SettingsError, match="sqlite_synchronous"):
        Settings.from_env({"KETENPOORT_SQLITE_SYNCHRONOUS": "OFF"})
