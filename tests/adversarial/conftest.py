"""An instance of the attacks' own, committed to a real database the operator can copy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from gateway.app import create_app
from gateway.cli import main
from gateway.settings import Settings
from tests.conftest import BACKENDS, instance_database


@dataclass
class ShredInstance:
    """``ketenpoort init`` run for real: a keyring file and a database that commits."""

    backend: str
    settings: Settings
    app: Flask

    def cli(self, *args: str) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture(params=BACKENDS)
def shred_instance(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ShredInstance]:
    instance_path = tmp_path / "instance"
    monkeypatch.setenv("KETENPOORT_INSTANCE", str(instance_path))
    with instance_database(request.param, monkeypatch, "shred"):
        result = CliRunner().invoke(main, ["init"])
        assert result.exit_code == 0, result.output
        settings = Settings.from_env()
        app = create_app(settings)
        yield ShredInstance(request.param, settings, app)
        app.extensions["ketenpoort"].session_factory.kw["bind"].dispose()
